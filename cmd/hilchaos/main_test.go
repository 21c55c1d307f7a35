package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pathfinder = "../../campaigns/pathfinder.yaml"

// hilchaos runs the CLI in-process and returns exit code, stdout, stderr.
func hilchaos(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// runDoc is the part of the --format json document the tests read.
type runDoc struct {
	Verdict string  `json:"verdict"`
	Score   float64 `json:"score"`
	Runs    []struct {
		Index   int     `json:"index"`
		Seed    uint64  `json:"seed"`
		Verdict string  `json:"verdict"`
		Score   float64 `json:"score"`
		Resets  struct {
			Watchdog int `json:"watchdog"`
			Software int `json:"software"`
			PowerOn  int `json:"power_on"`
			Hang     int `json:"hang"`
		} `json:"resets"`
		Inversions int `json:"inversions"`
		Tasks      map[string]struct {
			MaxResponseUS  int64 `json:"max_response_us"`
			P99ResponseUS  int64 `json:"p99_response_us"`
			DeadlineMisses int   `json:"deadline_misses"`
		} `json:"tasks"`
		Faults []struct {
			At int64 `json:"at_us"`
		} `json:"faults"`
	} `json:"runs"`
}

func decode(t *testing.T, s string) runDoc {
	t.Helper()
	var d runDoc
	require.NoError(t, json.Unmarshal([]byte(s), &d), s)
	return d
}

func TestPathfinderResetsWithoutInheritance(t *testing.T) {
	code, out, errs := hilchaos(t, "run", pathfinder, "--format", "json")
	require.Equal(t, ExitFail, code, "stderr: %s", errs)
	d := decode(t, out)
	assert.Equal(t, "fail", d.Verdict)
	watchdog := 0
	for _, r := range d.Runs {
		watchdog += r.Resets.Watchdog
	}
	assert.Positive(t, watchdog, "the 1997 configuration resets")
}

func TestPathfinderPassesWithTheFix(t *testing.T) {
	for _, mutex := range []string{"inherit", "ceiling"} {
		t.Run(mutex, func(t *testing.T) {
			code, out, errs := hilchaos(t, "run", pathfinder, "--format", "json", "--target", "sim://pathfinder?mutex="+mutex)
			require.Equal(t, ExitOK, code, "stderr: %s\n%s", errs, out)
			d := decode(t, out)
			assert.Equal(t, "pass", d.Verdict)
			for _, r := range d.Runs {
				assert.Zero(t, r.Resets.Watchdog+r.Resets.Software+r.Resets.PowerOn+r.Resets.Hang, "run %d", r.Index)
				assert.Contains(t, r.Tasks, "bc_dist")
			}
		})
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	_, a, _ := hilchaos(t, "run", pathfinder, "--format", "json", "--duration", "10s")
	_, b, _ := hilchaos(t, "run", pathfinder, "--format", "json", "--duration", "10s")
	require.NotEmpty(t, a)
	assert.Equal(t, a, b, "same campaign and seed give byte-identical output")
	_, c, _ := hilchaos(t, "run", pathfinder, "--format", "json", "--duration", "10s", "--seed", "42")
	da, dc := decode(t, a), decode(t, c)
	require.NotEmpty(t, da.Runs[0].Faults)
	assert.NotEqual(t, da.Runs[0].Faults, dc.Runs[0].Faults, "another seed gives other fault times")
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", pathfinder, "--format", "xml"},
		{"run", pathfinder, "--bogus"},
		{"run", pathfinder, "--target", "sim://nowhere"},
		{"run", "does-not-exist.yaml"},
	} {
		code, _, stderr := hilchaos(t, args...)
		assert.Equal(t, ExitInvalid, code, "%v: %s", args, stderr)
		assert.NotEmpty(t, stderr, "%v", args)
	}
}

func TestHelpDocumentsExitStatus(t *testing.T) {
	code, out, _ := hilchaos(t, "run", "--help")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "EXIT STATUS")
	for _, s := range []string{"0  every check passed", "1  a check failed", "2  invalid input", "3  infrastructure error"} {
		assert.Contains(t, out, s)
	}
}

func TestRunLogHasOneRecordPerRun(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := hilchaos(t, "run", pathfinder, "--target", "sim://pathfinder?mutex=inherit", "--repeat", "2", "--duration", "5s", "--out", dir)
	require.Equal(t, ExitOK, code, stderr)
	b, err := os.ReadFile(filepath.Join(dir, "runs.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	for i, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		assert.EqualValues(t, i, rec["index"])
		assert.NotEmpty(t, rec["campaign_hash"])
		assert.NotNil(t, rec["host"], "the stored record keeps host facts")
	}
}

// A cancelled context is a second SIGINT: the run in progress is aborted,
// which is an interruption (130), not a rig failure (3).
func TestAbortedRunExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"run", pathfinder, "--repeat", "2", "--duration", "2s"}, strings.NewReader(""), &out, &errb)
	assert.Equal(t, ExitInterrupted, code, errb.String())
	assert.Contains(t, errb.String(), "interrupted after 0 run(s)")
}
