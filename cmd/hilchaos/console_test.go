package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets"
)

// TestConsoleInReports: a board that prints console lines (a boot message,
// deadline-miss warnings, an assert when the watchdog expires) has them in
// the failure summary of `run` (the last lines before the first reset), in
// the HTML report as Chromium renders it (a pane beside the timeline, and
// the lines before each reset), in the Perfetto file, and counted in the
// link table.
func TestConsoleInReports(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := hilchaos(t, "run", pathfinder, "--target", "broken://console", "--duration", "10s", "--repeat", "1", "--out", dir)
	require.Equal(t, ExitFail, code, "the 1997 configuration resets: %s%s", out, errs)

	// The failure summary: the assert is the last line before the reset.
	i := strings.Index(out, "console before the watchdog reset at t=")
	require.GreaterOrEqual(t, i, 0, "the failure summary shows the console before the first reset:\n%s", out)
	var tail []string
	for l := range strings.Lines(out[i:]) {
		if strings.HasPrefix(l, "    | ") {
			tail = append(tail, l)
		} else if len(tail) > 0 {
			break
		}
	}
	require.NotEmpty(t, tail)
	assert.LessOrEqual(t, len(tail), 5, "at most 5 lines")
	assert.Contains(t, tail[len(tail)-1], "ASSERT sched.c:88 watchdog expired")
	assert.Regexp(t, `(?m)^link \(counters that are not zero`, out, "the link table")
	assert.Contains(t, out, "console lines")

	// The HTML report, as Chromium renders it.
	html := filepath.Join(dir, "report.html")
	perfetto := filepath.Join(dir, "trace.json")
	code, _, errs = hilchaos(t, "report", dir, "--html", html, "--perfetto", perfetto)
	require.Equal(t, ExitFail, code, errs)
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "chromium not found: run .ci/setup (it installs the test components)")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+html)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	d := string(dom)
	pane := regexp.MustCompile(`(?s)<div class="with-console"><svg class="timeline".*?</svg><div class="console" data-run="0">(.*?)</div></div>`).FindStringSubmatch(d)
	require.NotNil(t, pane, "a console pane beside the timeline")
	assert.Contains(t, pane[1], "ASSERT sched.c:88 watchdog expired")
	assert.Contains(t, pane[1], `class="console-line"`)
	resets := regexp.MustCompile(`(?s)<div class="console reset-console" data-reset-at="\d+"><div class="console-head">before the watchdog reset at t=[0-9.]+ s</div>(.*?)</div></div>`).FindAllStringSubmatch(d, -1)
	require.NotEmpty(t, resets, "the console before each reset")
	for _, r := range resets {
		assert.Contains(t, r[1], "ASSERT sched.c:88 watchdog expired", "the last lines before a watchdog reset end with the assert")
	}
	assert.Regexp(t, `<table class="telemetry">.*<th>console lines</th>`, d)

	// Perfetto: the lines as instant events on a console track.
	b, err := os.ReadFile(perfetto)
	require.NoError(t, err)
	var doc struct {
		TraceEvents []struct {
			Name string `json:"name"`
			Cat  string `json:"cat"`
			Ph   string `json:"ph"`
			Tid  int    `json:"tid"`
		} `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	asserts := 0
	for _, e := range doc.TraceEvents {
		if e.Cat == "console" {
			assert.Equal(t, "i", e.Ph)
			if strings.HasPrefix(e.Name, "ASSERT") {
				asserts++
			}
		}
	}
	assert.Positive(t, asserts, "console lines are instant events")
}

// dying://N is the simulated reference board whose link goes away for
// good after N bytes: a rig error mid-run.
func init() {
	targets.Register("dying", func(u *url.URL, opt targets.Options) (targets.Target, error) {
		inner, err := targets.Open("sim://pathfinder", opt)
		if err != nil {
			return nil, err
		}
		n, _ := strconv.Atoi(u.Host)
		return &dying{Target: inner, left: n}, nil
	})
}

type dying struct {
	targets.Target
	left int
}

func (d *dying) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, fmt.Errorf("cable pulled: %w", targets.ErrUnreachable)
	}
	n, err := d.Target.Read(p[:min(len(p), d.left)])
	d.left -= n
	return n, err
}

func (d *dying) Now() time.Time { return targets.ClockOf(d.Target).Now() }

// TestErrorRecordKeepsTelemetry: a run that ends in a rig error keeps the
// link's counters in its record, and the table shows them.
func TestErrorRecordKeepsTelemetry(t *testing.T) {
	code, out, errs := hilchaos(t, "run", pathfinder, "--target", "dying://20000", "--duration", "10s", "--repeat", "1", "--format", "json")
	require.Equal(t, ExitInfra, code, "%s%s", out, errs)
	var doc struct {
		Runs []struct {
			Verdict   string `json:"verdict"`
			Telemetry struct {
				Frames uint64 `json:"frames"`
			} `json:"telemetry"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Runs, 1)
	assert.Equal(t, "error", doc.Runs[0].Verdict)
	assert.Positive(t, doc.Runs[0].Telemetry.Frames, "the frames before the error are counted in the error record")
}
