package record

import "sort"

// EvaluateRequirements evaluates every requirement the checks cite, in the
// order of their ids, over runs. texts gives each requirement's text. A
// results directory read on its own has the checks in its records and the
// texts in its plan, so a report rebuilds what the run printed.
func EvaluateRequirements(checks []Check, texts map[string]string, runs []RunRecord) []RequirementResult {
	seen := map[string]bool{}
	for _, ch := range checks {
		if ch.Requirement != "" {
			seen[ch.Requirement] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []RequirementResult
	for _, id := range ids {
		rr := RequirementResult{ID: id, Text: texts[id], Verdict: Untested}
		for _, ch := range checks {
			if ch.Requirement != id {
				continue
			}
			ev := CheckEvidence{Check: ch.Expr, WorstRun: -1}
			for i := range runs {
				r := &runs[i]
				if r.Verdict != Pass && r.Verdict != Fail {
					continue // a run cut short or failed by the rig is no evidence
				}
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
			ev.WorstText = FormatMetric(ch.Metric, ev.Worst)
			if ev.Runs > 0 && rr.Verdict == Untested {
				rr.Verdict = Pass
			}
			if ev.Failed > 0 {
				rr.Verdict = Fail
			}
			rr.Evidence = append(rr.Evidence, ev)
		}
		out = append(out, rr)
	}
	return out
}

// ChecksOf is the campaign's checks as a run record carries them, parsed
// again (metric and operator are not stored).
func ChecksOf(r *RunRecord) []Check {
	out := make([]Check, 0, len(r.Checks))
	for _, cr := range r.Checks {
		c, err := ParseCheck(cr.Expr, nil)
		if err != nil {
			c = cr.Check
		}
		c.Requirement = cr.Requirement
		out = append(out, c)
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
