package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run --out DIR writes what report needs; report's JSON is the run's document.
func TestReportFromStoredRuns(t *testing.T) {
	dir := t.TempDir()
	code, runOut, stderr := hilchaos(t, "run", pathfinder, "--repeat", "1", "--duration", "3s", "--out", dir, "--format", "json")
	require.Equal(t, ExitFail, code, stderr)
	traces, err := filepath.Glob(filepath.Join(dir, "traces", "run-0-*.wire.gz"))
	require.NoError(t, err)
	require.Len(t, traces, 1, "the wire stream is stored beside the records, named by the run's key")

	code, repOut, stderr := hilchaos(t, "report", dir, "--format", "json")
	require.Equal(t, ExitFail, code, "the stored verdict: %s", stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(repOut), &rep))
	assert.NotEmpty(t, rep["started"], "report adds when the runs ran (host facts run leaves out)")
	delete(rep, "started")
	delete(rep, "ended")
	repDoc, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.JSONEq(t, runOut, string(repDoc), "report prints the document run printed, plus the dates")
	require.Positive(t, decode(t, repOut).Runs[0].Inversions)

	files := t.TempDir()
	junit, html, perf := filepath.Join(files, "j.xml"), filepath.Join(files, "r.html"), filepath.Join(files, "p.json")
	code, table, stderr := hilchaos(t, "report", dir, "--junit", junit, "--html", html, "--perfetto", perf)
	require.Equal(t, ExitFail, code, stderr)
	assert.Contains(t, table, "priority-inversion episode")
	for _, p := range []string{junit, html, perf} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Positive(t, st.Size(), p)
	}
	b, _ := os.ReadFile(html)
	assert.True(t, strings.Contains(string(b), `<svg class="timeline"`))
	// The histograms show the jobs a reset cut short, and say so.
	assert.Contains(t, string(b), `class="bar censored"`)
	assert.Contains(t, string(b), "cut short by a reset (at their time to it)")
	// The legend names every mark the timeline draws.
	for _, mark := range []string{`class="fault" data-kind="fault-begin"`, `class="reset"`, `class="miss"`} {
		require.Contains(t, string(b), mark, "the timeline draws it")
	}
	for _, name := range []string{"running", "ready", "blocked on a lock", "lock held", "inversion episode", "fault began / ended", ">reset<", "deadline miss or watchdog expiry"} {
		assert.Contains(t, string(b), name, "the legend names it")
	}

	code, _, stderr = hilchaos(t, "report", filepath.Join(dir, "nope"))
	assert.Equal(t, ExitInvalid, code, stderr)
	code, _, _ = hilchaos(t, "report", dir, "--format", "xml")
	assert.Equal(t, ExitInvalid, code)
}
