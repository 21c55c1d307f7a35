package harness

import "github.com/hilchaos/hilchaos/harness/record"

// Requirements evaluates every requirement the campaign's checks cite, in
// the order of their ids.
func Requirements(c *Campaign, runs []RunRecord) []RequirementResult {
	return record.EvaluateRequirements(c.Checks, c.Requirements, runs)
}
