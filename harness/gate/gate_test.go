package gate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/record"
)

// The failed-checks table keeps, per check, the value furthest past the
// limit, written as the requirements table writes it.
func TestFailedCheckWorstValue(t *testing.T) {
	rec := func(i int, checks ...record.CheckResult) record.RunRecord {
		return record.RunRecord{Index: i, CampaignHash: "h", DurationUS: 1e6, Verdict: record.Pass, Checks: checks}
	}
	failed := func(expr string, v float64) record.CheckResult {
		return record.CheckResult{Check: record.Check{Expr: expr}, Value: v}
	}
	base := []record.RunRecord{rec(0), rec(1), rec(2)}
	cand := []record.RunRecord{
		rec(0, failed("bc_dist.max_response < 100ms", 120_000), failed("inversions <= 2", 4)),
		rec(1, failed("bc_dist.max_response < 100ms", 150_000)),
		rec(2, failed("bc_dist.max_response < 100ms", 110_000), failed("inversions <= 2", 7)),
	}
	rep := Compare("base", base, "cand", cand, Config{})
	require.Equal(t, Regression, rep.Verdict, rep.Reason)
	require.Len(t, rep.FailedChecks, 2)
	assert.Equal(t, CheckFailures{Check: "bc_dist.max_response < 100ms", Runs: []int{0, 1, 2}, Of: 3, Worst: 150_000, WorstText: "150.000 ms"}, rep.FailedChecks[0])
	assert.Equal(t, CheckFailures{Check: "inversions <= 2", Runs: []int{0, 2}, Of: 3, Worst: 7, WorstText: "7"}, rep.FailedChecks[1])
}

func runs(n int, hash, level, verdict string) []record.RunRecord {
	out := make([]record.RunRecord, n)
	for i := range out {
		out[i] = record.RunRecord{Index: i, Campaign: "c", CampaignHash: hash, DurationUS: 1e6, TraceLevel: level, Verdict: verdict}
	}
	return out
}

// Level-0 figures are of window maxima: they never compare with per-job ones.
func TestGateRefusesDifferentTraceLevels(t *testing.T) {
	rep := Compare("base", runs(6, "h", "full", record.Pass), "cand", runs(6, "h", "summary", record.Pass), Config{})
	assert.Equal(t, Invalid, rep.Verdict)
	assert.Contains(t, rep.Reason, "traced at level full, candidate runs at summary")
	mixed := append(runs(3, "h", "full", record.Pass), runs(3, "h", "default", record.Pass)...)
	rep = Compare("base", runs(6, "h", "full", record.Pass), "cand", mixed, Config{})
	assert.Equal(t, Invalid, rep.Verdict)
	assert.Contains(t, rep.Reason, "different trace levels (default, full)")
}

// Different campaigns are refused naming both hashes, unless allowed.
func TestGateRefusesDifferentCampaigns(t *testing.T) {
	rep := Compare("base", runs(6, "aaa", "full", record.Pass), "cand", runs(6, "bbb", "full", record.Pass), Config{})
	assert.Equal(t, Invalid, rep.Verdict)
	assert.Contains(t, rep.Reason, "sha256 aaa")
	assert.Contains(t, rep.Reason, "sha256 bbb")
	rep = Compare("base", runs(6, "aaa", "full", record.Pass), "cand", runs(6, "bbb", "full", record.Pass), Config{AllowDifferent: true})
	assert.Equal(t, Pass, rep.Verdict, rep.Reason)
	require.Len(t, rep.Notes, 1)
	assert.Contains(t, rep.Notes[0], "compared anyway")
}

// An inconclusive run is no evidence: the gate asks for a rerun (exit 3),
// unless another candidate run failed a check, which is a regression
// whatever else the inputs hold; a brick is an absolute failure.
func TestGateInconclusiveAndBrick(t *testing.T) {
	base := runs(6, "h", "full", record.Pass)
	cand := runs(6, "h", "full", record.Pass)
	cand[2].Verdict = record.Inconclusive
	cand[2].Evidence = &record.Evidence{Missing: []string{"bc_dist: 0 jobs observed, at least 10 needed (min_jobs)"}}
	cand[2].Checks = []record.CheckResult{{Check: record.Check{Expr: "resets.watchdog == 0"}, Value: 3}}
	rep := Compare("base", base, "cand", cand, Config{})
	assert.Equal(t, Error, rep.Verdict)
	assert.Contains(t, rep.Reason, "candidate run 2: inconclusive: bc_dist: 0 jobs observed")
	assert.Empty(t, rep.Absolute, "an inconclusive run's checks are no evidence")

	cand[4].Verdict = record.Fail
	cand[4].Resets.Brick = 1
	rep = Compare("base", base, "cand", cand, Config{})
	assert.Equal(t, Regression, rep.Verdict)
	assert.Equal(t, []Failure{{Run: 4, Check: "resets.brick == 0", Value: 1}}, rep.Absolute)
	assert.Contains(t, rep.Reason, "rerun them")
}
