package harness

import (
	"fmt"
	"strings"
)

// RequirementResult is one requirement's verdict over a campaign's runs,
// with the evidence: every check that cites it, how many runs it held in,
// and the worst value observed.
type RequirementResult struct {
	ID       string          `json:"id"`
	Text     string          `json:"text,omitempty"`
	Verdict  string          `json:"verdict"` // pass, fail, or untested (no completed run)
	Evidence []CheckEvidence `json:"evidence"`
}

// CheckEvidence is one check's outcome over the runs.
type CheckEvidence struct {
	Check      string  `json:"check"`
	Runs       int     `json:"runs"`   // runs that evaluated the check
	Failed     int     `json:"failed"` // runs in which it failed
	Worst      float64 `json:"worst"`  // the worst observed value (µs for times)
	WorstText  string  `json:"worst_text"`
	WorstRun   int     `json:"worst_run"` // index of the run that observed it
	FailedRuns []int   `json:"failed_runs,omitempty"`
}

// Untested is the verdict of a requirement no completed run evaluated.
const Untested = "untested"

// Requirements evaluates every requirement the campaign's checks cite, in
// the order of their ids.
func Requirements(c *Campaign, runs []RunRecord) []RequirementResult {
	seen := map[string]bool{}
	for _, ch := range c.Checks {
		if ch.Requirement != "" {
			seen[ch.Requirement] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	ids := sortedKeys(seen)
	var out []RequirementResult
	for _, id := range ids {
		rr := RequirementResult{ID: id, Text: c.Requirements[id], Verdict: Untested}
		for _, ch := range c.Checks {
			if ch.Requirement != id {
				continue
			}
			ev := CheckEvidence{Check: ch.Expr, WorstRun: -1}
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

// worse says whether a is further from satisfying a check with op than b.
func worse(op string, a, b float64) bool {
	switch op {
	case ">", ">=":
		return a < b
	default:
		return a > b
	}
}

// IsTimeMetric reports whether a check metric is a time in µs.
func IsTimeMetric(metric string) bool {
	if _, ok := runMetrics[metric]; ok {
		return false
	}
	_, m, ok := strings.Cut(metric, ".")
	return ok && taskMetrics[m].isTime
}

// FormatMetric writes a value of a check metric as the requirement and
// gate tables show it: times (µs) in milliseconds, counts as numbers.
func FormatMetric(metric string, v float64) string {
	if IsTimeMetric(metric) {
		return fmt.Sprintf("%.3f ms", v/1000)
	}
	return fmt.Sprintf("%g", v)
}
