package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/record"
)

// storedRuns runs the Pathfinder campaign into a fresh results directory.
func storedRuns(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "results")
	code, _, errs := hilchaos(t, append([]string{"run", pathfinder, "--duration", "2s", "--out", dir}, args...)...)
	require.Contains(t, []int{ExitOK, ExitFail}, code, errs)
	return dir
}

// report never writes over what it reads.
func TestReportRefusesToOverwriteItsInputs(t *testing.T) {
	dir := storedRuns(t, "--repeat", "1")
	log := filepath.Join(dir, record.RunsFile)
	before, err := os.ReadFile(log)
	require.NoError(t, err)
	traces, err := filepath.Glob(filepath.Join(dir, "traces", "*.wire.gz"))
	require.NoError(t, err)
	require.Len(t, traces, 1)
	for _, args := range [][]string{
		{"--html", log},
		{"--junit", filepath.Join(dir, record.PlanFile)},
		{"--perfetto", traces[0]},
		{"--html", filepath.Join(dir, "traces", "new.html")},
		{"--html", dir},
		{"--html", filepath.Join(dir, ".", "..", "results", record.RunsFile)},
		{"--html", filepath.Join(t.TempDir(), "r.html"), "--junit", ""},
	} {
		if args[len(args)-1] == "" {
			continue
		}
		code, _, errs := hilchaos(t, append([]string{"report", dir}, args...)...)
		assert.Equal(t, ExitInvalid, code, "%v: %s", args, errs)
		assert.Contains(t, errs, "write the report somewhere else", "%v", args)
	}
	// Through a symbolic link too.
	link := filepath.Join(t.TempDir(), "log.html")
	require.NoError(t, os.Symlink(log, link))
	code, _, errs := hilchaos(t, "report", dir, "--html", link)
	assert.Equal(t, ExitInvalid, code, errs)
	after, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, before, after, "the run log is untouched")
}

// A results directory belongs to one plan: reusing it for another seed,
// target or campaign is refused before anything runs; the same plan needs
// --resume; an empty directory is fine.
func TestResultsDirectoryHoldsOnePlan(t *testing.T) {
	dir := storedRuns(t, "--repeat", "1")
	log := filepath.Join(dir, record.RunsFile)
	before, err := os.ReadFile(log)
	require.NoError(t, err)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", pathfinder, "--duration", "2s", "--repeat", "1", "--seed", "7"}, "holds runs of another plan (seed 1997 there, 7 here)"},
		{[]string{"run", pathfinder, "--duration", "2s", "--repeat", "1", "--target", "sim://pathfinder?mutex=inherit"}, "holds runs of another plan (target sim://pathfinder?mutex=none there, sim://pathfinder?mutex=inherit here)"},
		{[]string{"run", pathfinder, "--duration", "3s", "--repeat", "1"}, "holds runs of another plan (duration 2000000 µs there, 3000000 µs here)"},
		{[]string{"run", "../../campaigns/preflight.yaml", "--duration", "2s", "--repeat", "1"}, "holds runs of another plan (campaign pathfinder (sha256:"},
		{[]string{"run", pathfinder, "--duration", "2s", "--repeat", "1"}, "already holds 1 run(s) of this plan: add --resume"},
	} {
		code, _, errs := hilchaos(t, append(tc.args, "--out", dir)...)
		assert.Equal(t, ExitInvalid, code, "%v: %s", tc.args, errs)
		assert.Contains(t, errs, tc.want, "%v", tc.args)
	}
	after, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, before, after, "nothing was appended")

	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))
	code, _, errs := hilchaos(t, "run", pathfinder, "--duration", "2s", "--repeat", "1", "--seed", "7", "--out", empty)
	assert.Contains(t, []int{ExitOK, ExitFail}, code, errs)
}

// While one hilchaos writes into a results directory, another is refused.
func TestResultsDirectoryLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	st, err := record.OpenStore(dir)
	require.NoError(t, err)
	code, _, errs := hilchaos(t, "run", pathfinder, "--duration", "2s", "--repeat", "1", "--out", dir)
	assert.Equal(t, ExitInvalid, code, errs)
	assert.Contains(t, errs, "is in use by another hilchaos")
	require.NoError(t, st.Close())
	code, _, errs = hilchaos(t, "run", pathfinder, "--duration", "2s", "--repeat", "1", "--out", dir)
	assert.Contains(t, []int{ExitOK, ExitFail}, code, "free again once the first is done: %s", errs)
}

// report on a directory holding runs of two plans refuses; on a partial
// directory it names the missing runs and claims no verdict.
func TestReportOnMixedAndPartialSets(t *testing.T) {
	dir := storedRuns(t, "--repeat", "4", "--target", "sim://pathfinder?mutex=inherit")
	log := filepath.Join(dir, record.RunsFile)
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 4)

	// kill -9 after two runs: the directory holds runs 0 and 1 of 4.
	require.NoError(t, os.WriteFile(log, []byte(lines[0]+lines[1]), 0o644))
	code, out, errs := hilchaos(t, "report", dir)
	assert.Equal(t, ExitInfra, code, errs)
	assert.Contains(t, out, "PARTIAL (PASS so far): 2 of 4 runs, missing runs 2-3; 2 passed, 0 failed, 0 errors")
	assert.Contains(t, errs, "holds 2 of the 4 planned runs")

	// Another campaign's record appended by hand.
	other := strings.Replace(lines[2], `"campaign_hash":"sha256:`, `"campaign_hash":"sha256:0`, 1)
	require.NoError(t, os.WriteFile(log, []byte(lines[0]+lines[1]+other), 0o644))
	code, _, errs = hilchaos(t, "report", dir)
	assert.Equal(t, ExitInvalid, code, errs)
	assert.Contains(t, errs, "mixes runs of different plans: record 1 has campaign pathfinder (sha256:")
	assert.Contains(t, errs, "record 3 has campaign pathfinder (sha256:0")
}

// report carries the qualification evidence in every format: requirements,
// firmware identity, campaign hash and version, harness version, date.
func TestReportCarriesQualificationEvidence(t *testing.T) {
	t.Setenv("HILCHAOS_DURATION", "3s")
	dir := filepath.Join(t.TempDir(), "results")
	start := time.Now()
	code, runOut, errs := hilchaos(t, "run", "../../campaigns/preflight.yaml", "--repeat", "2", "--out", dir, "--format", "json")
	runWall := time.Since(start).Seconds()
	require.Equal(t, ExitOK, code, errs)
	var run map[string]any
	require.NoError(t, json.Unmarshal([]byte(runOut), &run))
	require.NotEmpty(t, run["requirements"])

	code, repOut, errs := hilchaos(t, "report", dir, "--format", "json")
	require.Equal(t, ExitOK, code, errs)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(repOut), &rep))
	assert.Equal(t, run["requirements"], rep["requirements"], "report rebuilds the requirements the run printed")
	for _, k := range []string{"campaign_hash", "campaign_version", "firmware", "harness", "started", "ended"} {
		assert.NotEmpty(t, rep[k], k)
	}
	hash := rep["campaign_hash"].(string)

	code, table, errs := hilchaos(t, "report", dir)
	require.Equal(t, ExitOK, code, errs)
	for _, want := range []string{"campaign hash " + hash + ", version 1.0", "firmware pathfinder-model 1.0.0 (build go-ref-1)",
		"harness " + harness.Version, "runs from 20", "REQ-BUS-002", "bc_dist's 99th-percentile response time stays under 50 ms"} {
		assert.Contains(t, table, want)
	}

	out := t.TempDir()
	htmlPath, junitPath := filepath.Join(out, "r.html"), filepath.Join(out, "j.xml")
	code, _, errs = hilchaos(t, "report", dir, "--html", htmlPath, "--junit", junitPath)
	require.Equal(t, ExitOK, code, errs)
	page, err := os.ReadFile(htmlPath)
	require.NoError(t, err)
	for _, want := range []string{hash, "version 1.0", "pathfinder-model 1.0.0 (build go-ref-1)", "hilchaos " + harness.Version,
		rep["started"].(string), `id="requirements"`, "REQ-TLM-001", "No telemetry is lost on the link."} {
		assert.Contains(t, string(page), want)
	}
	var doc struct {
		Time   float64 `xml:"time,attr"`
		Suites []struct {
			Time  float64 `xml:"time,attr"`
			Props []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
		} `xml:"testsuite"`
	}
	data, err := os.ReadFile(junitPath)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(data, &doc))
	require.Len(t, doc.Suites, 2)
	for _, s := range doc.Suites {
		props := map[string]string{}
		for _, p := range s.Props {
			props[p.Name] = p.Value
		}
		assert.Equal(t, "3.000", props["board_time_s"], "board time is a property")
		// The suite's time is the wall time of the run, which lies within
		// the command that did it: a bound, not a timing with slack.
		assert.LessOrEqual(t, s.Time, runWall, "the suite's time is the wall time the sim run took, not its 3 s of board time")
		assert.Equal(t, hash, props["campaign_hash"])
		assert.Equal(t, "1.0", props["campaign_version"])
		assert.Equal(t, harness.Version, props["harness"])
		assert.NotEmpty(t, props["started"])
		assert.Contains(t, props["requirement REQ-BUS-002"], "PASS: bc_dist's 99th-percentile")
	}
}

// A run cut short by a signal is stored as interrupted; after --resume
// runs it again, report counts the run once, as it ended.
func TestInterruptedRunRerunOnResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the signal came before the first run could finish
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"run", pathfinder, "--repeat", "2", "--duration", "2s", "--out", dir}, strings.NewReader(""), &out, &errb)
	require.Equal(t, ExitInterrupted, code, errb.String())
	assert.Contains(t, out.String(), "INTERRUPTED: 0 of 2 runs, 0 passed, 0 failed, 0 errors, 1 cut short")
	assert.Contains(t, errb.String(), "interrupted after 0 run(s) (run 0 cut short and stored as interrupted)")
	recs, _, err := record.ReadRuns(dir)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, record.Interrupted, recs[0].Verdict, "what it saw is stored, no verdict claimed")

	junit := filepath.Join(t.TempDir(), "j.xml")
	code, _, errs := hilchaos(t, "report", dir, "--junit", junit)
	assert.Equal(t, ExitInfra, code, errs)
	x, err := os.ReadFile(junit)
	require.NoError(t, err)
	assert.Contains(t, string(x), `type="interrupted"`, "CI reads the cut-short run as an error, not a pass")

	code, _, errs = hilchaos(t, "run", pathfinder, "--repeat", "2", "--duration", "2s", "--out", dir, "--resume")
	require.Equal(t, ExitFail, code, errs)
	code, table, errs := hilchaos(t, "report", dir)
	assert.Equal(t, ExitFail, code, errs)
	assert.Contains(t, table, "FAIL: 0 passed, 2 failed, 0 errors")
	assert.NotContains(t, table, "INTERRUPTED")
}

// A breaking-point search whose board already breaks below the campaign's
// own value fails (exit 1), run and report alike, saying so; one whose
// margin is below min_margin fails too; a healthy one passes although
// some of its runs broke (that is what it looks for).
func TestBreakingPointSearchVerdicts(t *testing.T) {
	write := func(name, extra, from, minMargin string) string {
		body := `name: ` + name + `
target: sim://pathfinder?mutex=none
reference: sim://pathfinder?mutex=inherit
duration: 3s
seed: 1997
trace: full
faults:
  - name: hold
    kind: lock-hold
    task: asi_met
    lock: bus
    extra: ` + extra + `
    schedule: {phase: {task: asi_met, offset: 0ms, cycles: 4}}
sweep: {fault: hold, param: extra, from: ` + from + `, to: 200ms, step: 1ms, search: breaking-point, confirm: 1` + minMargin + `}
checks:
  - resets.watchdog == 0
  - bc_dist.deadline_misses == 0
`
		path := filepath.Join(t.TempDir(), name+".yaml")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
		return path
	}
	for _, tc := range []struct {
		name, extra, from, minMargin string
		code                         int
		want                         string
	}{
		{"broken-below-nominal", "150ms", "100ms", "", ExitFail, "the board breaks at extra = 100ms, below the campaign's own 150ms: margin -50ms"},
		{"margin-too-small", "25ms", "0ms", ", min_margin: 100ms", ExitFail, "is below the required 100ms"},
		{"healthy", "25ms", "0ms", "", ExitOK, "PASS: breaking-point search over hold.extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "results")
			path := write(tc.name, tc.extra, tc.from, tc.minMargin)
			code, out, errs := hilchaos(t, "run", path, "--out", dir)
			assert.Equal(t, tc.code, code, errs)
			assert.Contains(t, out, tc.want)
			assert.NotContains(t, out, "passed, ", "a search's summary line is not a pass/fail count")
			code, rep, errs := hilchaos(t, "report", dir)
			assert.Equal(t, tc.code, code, "report agrees with run: %s", errs)
			assert.Contains(t, rep, tc.want)
		})
	}
}
