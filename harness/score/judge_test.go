package score

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

func checks(t *testing.T, exprs ...string) []record.Check {
	t.Helper()
	var out []record.Check
	for _, e := range exprs {
		c, err := record.ParseCheck(e, nil)
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func exprs(cs []record.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Expr)
	}
	return out
}

// The default checks hold unless the campaign checks the same metric.
func TestWithDefaults(t *testing.T) {
	assert.Equal(t, []string{"resets.unexpected == 0", "resets.hang == 0"}, exprs(WithDefaults(nil)))
	assert.Equal(t, []string{"resets.watchdog == 0", "bc_dist.p99_response < 50ms", "resets.unexpected == 0", "resets.hang == 0"},
		exprs(WithDefaults(checks(t, "resets.watchdog == 0", "bc_dist.p99_response < 50ms"))),
		"campaign checks on other metrics do not replace the defaults")
	assert.Equal(t, []string{"resets.hang <= 1", "resets.unexpected <= 2"},
		exprs(WithDefaults(checks(t, "resets.hang <= 1", "resets.unexpected <= 2"))))
}

// ok is a run with the evidence a verdict needs.
func ok() *record.RunRecord {
	r := &record.RunRecord{DurationUS: 10_000_000, Telemetry: record.Telemetry{Frames: 10_000},
		Faults: []record.Fault{{ID: 0, Name: "comms-burst"}, {ID: 1, Name: "asi-met-long-publish"}}}
	task(r, "bc_dist", func(t *analyze.TaskResult) { t.Jobs = 80 })
	task(r, "imaging", func(t *analyze.TaskResult) { t.Jobs = 3 })
	return r
}

func okObs() Observed {
	return Observed{ReachedUS: 10_000_000, Faults: analyze.FaultCheck{Expected: 2, Begun: 2, Tolerance: 2000}}
}

func TestJudge(t *testing.T) {
	cr := Criteria{Checks: WithDefaults(checks(t, "bc_dist.deadline_misses == 0"))}
	cases := []struct {
		name    string
		edit    func(r *record.RunRecord, o *Observed, cr *Criteria)
		verdict string
		missing []string
	}{
		{"evidence and checks hold", func(r *record.RunRecord, o *Observed, cr *Criteria) {}, record.Pass, nil},
		{"a BOR reset (unknown reason) fails the default checks", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Resets.Unknown = 1
		}, record.Fail, nil},
		{"a watchdog reset in expect_resets does not", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Resets.Expected = 1
		}, record.Pass, nil},
		{"a hang fails the default checks", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Resets.Hang = 1
		}, record.Fail, nil},
		{"faults that did not begin", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			o.Faults = analyze.FaultCheck{Expected: 2, Begun: 1, Missing: 1, Tolerance: 2000,
				List: []analyze.MissingFault{{ID: 1, ExpectedUS: 1_250_000, BegunUS: -1, Why: "no FB event"}}}
		}, record.Inconclusive, []string{"1 of 2 planned fault firings did not begin on the board within 2.0 ms (first: asi-met-long-publish #1 due at t=1.250 s: no FB event)"}},
		{"too few jobs of a checked task", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.Jobs, t.Censored = 5, 4 })
		}, record.Inconclusive, []string{"bc_dist: 9 jobs observed, at least 10 needed (min_jobs)"}},
		{"an unchecked task with few jobs does not matter", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			task(r, "imaging", func(t *analyze.TaskResult) { t.Jobs = 0 })
		}, record.Pass, nil},
		{"a checked task the board never ran", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			delete(r.Tasks, "bc_dist")
		}, record.Inconclusive, []string{"bc_dist: 0 jobs observed, at least 10 needed (min_jobs)"}},
		{"min_jobs set by the campaign", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			cr.MinJobs = 100
		}, record.Inconclusive, []string{"bc_dist: 80 jobs observed, at least 100 needed (min_jobs)"}},
		{"without task checks every task needs its jobs", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			cr.Checks = WithDefaults(nil)
		}, record.Inconclusive, []string{"imaging: 3 jobs observed, at least 10 needed (min_jobs)"}},
		{"a run that ended short", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			o.ReachedUS = 9_989_999
		}, record.Inconclusive, []string{"the run ended at 9.990 s of board time, short of its 10.000 s"}},
		{"within the slack is not short", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			o.ReachedUS = 9_990_000
		}, record.Pass, nil},
		{"telemetry loss above max_loss", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Telemetry = record.Telemetry{Frames: 2372, Lost: 8748, Dropped: 8748}
		}, record.Inconclusive, []string{"78.7% of telemetry lost (8748 events), more than max_loss 1%"}},
		{"max_loss set by the campaign", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Telemetry = record.Telemetry{Frames: 9_000, Lost: 1000, SeqLost: 1000}
			cr.MaxLoss = 0.2
		}, record.Pass, nil},
		{"missing evidence outweighs failed checks", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Resets.Watchdog = 3
			r.Telemetry = record.Telemetry{Frames: 100, Lost: 900, Dropped: 900}
		}, record.Inconclusive, []string{"90.0% of telemetry lost (900 events), more than max_loss 1%"}},
		{"a brick fails whatever evidence is missing", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			r.Resets.Watchdog, r.Resets.Brick = 1, 1
			o.Brick, o.ReachedUS = true, 300_000
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.Jobs = 2 })
		}, record.Fail, []string{"bc_dist: 2 jobs observed, at least 10 needed (min_jobs)"}},
		{"a score below min_score", func(r *record.RunRecord, o *Observed, cr *Criteria) {
			cr.MinScore = 95 // the score is 90: -10 for inversions
			r.Inversions = 20
		}, record.Fail, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, o, crit := ok(), okObs(), cr
			c.edit(r, &o, &crit)
			Judge(r, ok(), crit, o)
			assert.Equal(t, c.verdict, r.Verdict, "checks %+v, evidence %v", r.Checks, r.Evidence.Missing)
			assert.Equal(t, c.missing, r.Evidence.Missing)
		})
	}
}

// The record's telemetry.lost and the check of that name are one number.
func TestTelemetryLostIsOneNumber(t *testing.T) {
	r := &record.RunRecord{Telemetry: record.Telemetry{Frames: 2372, Lost: 8748, SeqLost: 0, Dropped: 8748}}
	v, ok := r.Metric("telemetry.lost")
	require.True(t, ok)
	assert.Equal(t, float64(r.Telemetry.Lost), v)
}
