package score

import (
	"maps"
	"slices"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Requirements evaluates every requirement the checks cite, in the order of
// their ids; texts gives each requirement's text.
func Requirements(checks []record.Check, texts map[string]string, runs []record.RunRecord) []record.RequirementResult {
	seen := map[string]bool{}
	for _, ch := range checks {
		if ch.Requirement != "" {
			seen[ch.Requirement] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(seen))
	var out []record.RequirementResult
	for _, id := range ids {
		rr := record.RequirementResult{ID: id, Text: texts[id], Verdict: record.Untested}
		for _, ch := range checks {
			if ch.Requirement != id {
				continue
			}
			ev := record.CheckEvidence{Check: ch.Expr, WorstRun: -1}
			for i := range runs {
				r := &runs[i]
				for _, cr := range r.Checks {
					if cr.Expr != ch.Expr {
						continue
					}
					ev.Runs++
					if !cr.Pass {
						ev.Failed++
						ev.FailedRuns = append(ev.FailedRuns, r.Index)
					}
					if ev.WorstRun < 0 || worse(ch.Op, cr.Value, ev.Worst) {
						ev.Worst, ev.WorstRun = cr.Value, r.Index
					}
				}
			}
			ev.WorstText = record.FormatMetric(ch.Metric, ev.Worst)
			if ev.Runs > 0 && rr.Verdict == record.Untested {
				rr.Verdict = record.Pass
			}
			if ev.Failed > 0 {
				rr.Verdict = record.Fail
			}
			rr.Evidence = append(rr.Evidence, ev)
		}
		out = append(out, rr)
	}
	return out
}

// worse says whether a is further from satisfying a check with op than b.
func worse(op string, a, b float64) bool {
	switch op {
	case ">", ">=":
		return a < b
	default:
		return a > b
	}
}
