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
