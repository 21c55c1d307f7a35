package harness

import (
	"github.com/hilchaos/hilchaos/harness/score"
)

// Scoring, checks and requirements live in harness/score; these keep the
// harness's callers reading as before.

// Score compares a run with the reference run of the same plan.
func Score(obs, ref *RunRecord) (float64, []Deduction) { return score.Score(obs, ref) }

// Evaluate runs every check on r.
func Evaluate(checks []Check, r *RunRecord) []CheckResult { return score.Evaluate(checks, r) }

// Requirements evaluates every requirement the campaign's checks cite, in
// the order of their ids.
func Requirements(c *Campaign, runs []RunRecord) []RequirementResult {
	return score.Requirements(c.Checks, c.Requirements, runs)
}
