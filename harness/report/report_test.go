package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/record"
)

// results runs the Pathfinder inversion campaign (fixed fault times, one
// run, no protocol) once into a results directory shared by the tests.
var results = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hilchaos-report-")
	if err != nil {
		return "", err
	}
	c, err := harness.LoadCampaign("../testdata/inversion.yaml", harness.Overrides{Repeat: 2})
	if err != nil {
		return "", err
	}
	st, err := record.OpenStore(dir)
	if err != nil {
		return "", err
	}
	defer st.Close()
	_, err = harness.Execute(context.Background(), c, harness.Options{Store: st})
	return dir, err
})

func load(t *testing.T) (string, *record.Summary) {
	t.Helper()
	dir, err := results()
	require.NoError(t, err)
	sum, warns, err := Load(dir)
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Equal(t, record.Fail, sum.Verdict)
	return dir, sum
}

// tool returns the path of a Debian tool the test needs, failing (not
// skipping) when it is missing.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run .ci/setup (it installs the test components)", name)
	}
	return p
}

func TestJUnitValidatesAgainstXSD(t *testing.T) {
	_, sum := load(t)
	var buf bytes.Buffer
	require.NoError(t, WriteJUnit(&buf, sum))
	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	out, err := exec.Command(tool(t, "xmllint"), "--noout", "--schema", "testdata/junit.xsd", path).CombinedOutput()
	require.NoError(t, err, "xmllint: %s", out)
	assert.Contains(t, string(out), "validates")

	x := buf.String()
	assert.Equal(t, 2, strings.Count(x, "<testsuite "), "a suite per run")
	// A testcase per check per run (2 checks, the 2 default checks
	// resets.unexpected and resets.hang, the score), failures that say
	// what and when.
	assert.Equal(t, 10, strings.Count(x, "<testcase "))
	assert.Contains(t, x, `message="resets.watchdog == 0 failed: observed 1"`)
	assert.Regexp(t, `priority-inversion episode\(s\); the first at t=0\.1\d\d s: bc_dist waited [0-9.]+ ms for bus held by asi_met`, x)
	assert.Regexp(t, `watchdog reset at t=0\.\d+ s \(BOOT reason WDT\)`, x)
}

func TestHTMLInHeadlessChromium(t *testing.T) {
	dir, sum := load(t)
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, WriteHTML(f, dir, sum))
	require.NoError(t, f.Close())
	raw, _ := os.ReadFile(path)
	assert.NotRegexp(t, `(?i)(src|href)="(https?:)?//`, string(raw), "self-contained: nothing fetched")
	assert.NotContains(t, string(raw), "<script")

	cmd := exec.Command(tool(t, "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	dom := string(out)

	// One timeline per failing run, with one row per task.
	svgs := regexp.MustCompile(`(?s)<svg class="timeline" data-run="(\d+)".*?</svg>`).FindAllStringSubmatch(dom, -1)
	require.Len(t, svgs, 2, "a timeline per failing run")
	r := sum.Runs[0]
	for _, svg := range svgs {
		rows := regexp.MustCompile(`<g class="row" data-task="([^"]+)"`).FindAllStringSubmatch(svg[0], -1)
		var names []string
		for _, m := range rows {
			names = append(names, m[1])
		}
		want := []string{"bc_sched", "bc_dist", "comm_tx", "comm_rx", "imaging", "asi_met", "load"}
		assert.Equal(t, want, names, "a row per task the board declared")
		for name := range r.Tasks {
			assert.Contains(t, names, name)
		}
		// The episode is marked on bc_dist's row.
		assert.Regexp(t, `<rect class="inversion" data-high="bc_dist" data-low="asi_met" data-medium="[a-z_]+" data-lock="bus"`, svg[0])
		// Running and blocked spans, lock ownership, faults and the reset.
		assert.Contains(t, svg[0], `class="running"`)
		assert.Contains(t, svg[0], `class="blocked"`)
		assert.Regexp(t, `<g class="lock-row" data-lock="bus">.*<rect class="held"`, svg[0])
		assert.Contains(t, svg[0], `data-kind="fault-begin"`)
		assert.Contains(t, svg[0], `class="reset"`)
	}
	assert.Contains(t, dom, `class="hist" data-task="bc_dist"`, "response-time histograms")
	assert.Contains(t, dom, `<table class="deductions">`)
	assert.Contains(t, dom, `<table class="blackbox">`)
}

func TestPerfettoJSON(t *testing.T) {
	dir, sum := load(t)
	var buf bytes.Buffer
	warns, err := WritePerfetto(&buf, dir, sum)
	require.NoError(t, err)
	require.Empty(t, warns)
	var doc struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), "valid JSON")
	require.NotEmpty(t, doc.TraceEvents)
	threads := map[float64]map[string]bool{} // pid -> thread names
	phases := map[string]int{}
	for i, e := range doc.TraceEvents {
		for _, k := range []string{"ph", "ts", "pid", "tid", "name"} {
			if k == "ts" && e["ph"] == "M" {
				continue // metadata events carry no time
			}
			require.Contains(t, e, k, "event %d: %v", i, e)
		}
		ph := e["ph"].(string)
		phases[ph]++
		switch ph {
		case "X":
			require.Contains(t, e, "dur", "complete events have a duration: %v", e)
			assert.GreaterOrEqual(t, e["dur"].(float64), 0.0)
		case "M":
			if e["name"] == "thread_name" {
				pid := e["pid"].(float64)
				if threads[pid] == nil {
					threads[pid] = map[string]bool{}
				}
				threads[pid][e["args"].(map[string]any)["name"].(string)] = true
			}
		}
	}
	assert.Positive(t, phases["X"])
	assert.Positive(t, phases["i"])
	require.Len(t, threads, 2, "a process per run")
	for _, names := range threads {
		for task := range sum.Runs[0].Tasks {
			assert.True(t, names[task], "a track for %s", task)
		}
		assert.True(t, names["lock bus"])
		assert.True(t, names["priority inversions"])
	}
	assert.Contains(t, buf.String(), `"name":"inversion: bc_dist waits for bus held by asi_met"`)
}

func TestJSONIsTheRunDocument(t *testing.T) {
	_, sum := load(t)
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, sum))
	assert.NotContains(t, buf.String(), `"host"`)
	var back record.Summary
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, sum.Runs[0].Inversions, back.Runs[0].Inversions)
	assert.Equal(t, sum.Score, back.Score)
}

func TestTable(t *testing.T) {
	_, sum := load(t)
	var buf bytes.Buffer
	WriteTable(&buf, sum, nil)
	out := buf.String()
	assert.Contains(t, out, "| run |")
	assert.Regexp(t, `the first at t=0\.1\d\d s: bc_dist waited`, out)
	assert.Contains(t, out, "FAIL: 0 passed, 2 failed")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := results(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
