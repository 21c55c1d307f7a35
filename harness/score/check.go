package score

import (
	"fmt"
	"sort"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// Evaluate runs every check on r. A metric the record does not have (a
// task the board never ran, a per-job percentile at trace level 0) fails
// its check: absence is no evidence of compliance.
func Evaluate(checks []record.Check, r *record.RunRecord) []record.CheckResult {
	out := make([]record.CheckResult, 0, len(checks))
	for _, c := range checks {
		v, ok := r.Metric(c.Metric)
		out = append(out, record.CheckResult{Check: c, Value: v, Pass: ok && c.Holds(v)})
	}
	return out
}

// Default checks: every campaign has them unless it writes its own check
// on the same metric.
var defaultChecks = []string{"resets.unexpected == 0", "resets.hang == 0"}

// WithDefaults returns checks with the default checks appended, each unless
// checks already has one on its metric. A reset of any kind the campaign
// does not expect (unknown reasons included) and a hang fail a run even
// when the campaign's own checks name other metrics only.
func WithDefaults(checks []record.Check) []record.Check {
	have := map[string]bool{}
	for _, c := range checks {
		have[c.Metric] = true
	}
	out := append([]record.Check(nil), checks...)
	for _, expr := range defaultChecks {
		c, err := record.ParseCheck(expr, nil)
		if err != nil {
			panic(err) // a typo above
		}
		if !have[c.Metric] {
			out = append(out, c)
		}
	}
	return out
}

// Evidence thresholds, where a campaign sets none.
const (
	DefaultMinJobs = 10
	DefaultMaxLoss = 0.01
	// ShortSlackUS is how far (µs of board time) a run may end before its
	// duration and still count as complete.
	ShortSlackUS = 10_000
)

// Criteria are what a run's verdict is judged by.
type Criteria struct {
	Checks   []record.Check
	MinScore float64
	MinJobs  int     // jobs each checked task must show; 0 means DefaultMinJobs
	MaxLoss  float64 // share of events that may be lost; 0 means DefaultMaxLoss, <0 none
}

// Observed is what the run showed beyond its record's figures.
type Observed struct {
	Faults    analyze.FaultCheck
	ReachedUS int64 // board time the run reached
	Brick     bool  // the board did not come back after a reset
}

// Judge scores rec against the reference run ref (nil: no reference, no
// score), evaluates its checks and decides its verdict:
//
//   - fail when the board bricked (whatever the evidence: silence after a
//     reset is the firmware's failure);
//   - fail when a check fails or the score is below MinScore, unless the
//     run lost more than MaxLoss of its telemetry;
//   - inconclusive when the evidence a PASS needs is missing
//     (rec.Evidence.Missing says why): planned firings that did not begin,
//     a checked task with fewer than MinJobs jobs, a run that ended short of
//     its board time, telemetry loss above MaxLoss;
//   - pass otherwise.
func Judge(rec, ref *record.RunRecord, cr Criteria, obs Observed) {
	if ref != nil {
		rec.Score, rec.Deductions = Score(rec, ref)
	}
	rec.Checks = Evaluate(cr.Checks, rec)
	ev := evidence(rec, cr, obs)
	rec.Evidence = ev
	failed := rec.Score < cr.MinScore && ref != nil
	seen := failed // a failure shown by a value the board gave
	for _, ch := range rec.Checks {
		if !ch.Pass {
			failed = true
			if _, ok := rec.Metric(ch.Metric); ok {
				seen = true
			}
		}
	}
	// A sample that lost more than MaxLoss of its telemetry is judged
	// neither way: what was lost may hide a failure or explain one.
	lossy := ev.MaxLoss >= 0 && ev.Loss > ev.MaxLoss
	switch {
	case obs.Brick || rec.Resets.Brick > 0:
		rec.Verdict = record.Fail
	case seen && !lossy:
		// A failure the board showed stands even when a PASS would lack
		// evidence: a reset it announced or a figure over its limit cannot
		// be un-observed by a fault that did not fire or a run cut short.
		rec.Verdict = record.Fail
	case len(ev.Missing) > 0:
		rec.Verdict = record.Inconclusive
	case failed:
		rec.Verdict = record.Fail
	default:
		rec.Verdict = record.Pass
	}
}

func evidence(rec *record.RunRecord, cr Criteria, obs Observed) *record.Evidence {
	ev := &record.Evidence{Faults: obs.Faults, ReachedUS: obs.ReachedUS, MinJobs: cr.MinJobs, MaxLoss: cr.MaxLoss,
		Loss: rec.Telemetry.LossFraction()}
	if ev.MinJobs == 0 {
		ev.MinJobs = DefaultMinJobs
	}
	if ev.MaxLoss == 0 {
		ev.MaxLoss = DefaultMaxLoss
	}
	byID := map[uint32]string{}
	for _, f := range rec.Faults {
		byID[f.ID] = f.Name
	}
	for i := range ev.Faults.List {
		ev.Faults.List[i].Fault = byID[ev.Faults.List[i].ID]
	}
	if fc := ev.Faults; fc.Missing > 0 {
		m := fc.List[0]
		ev.Missing = append(ev.Missing, fmt.Sprintf("%d of %d planned fault firings did not begin on the board within %s (first: %s #%d due at t=%.3f s: %s)",
			fc.Missing, fc.Expected, usText(fc.Tolerance), m.Fault, m.ID, float64(m.ExpectedUS)/1e6, m.Why))
	}
	if !obs.Brick && rec.DurationUS > 0 && obs.ReachedUS < rec.DurationUS-ShortSlackUS {
		ev.Missing = append(ev.Missing, fmt.Sprintf("the run ended at %s of board time, short of its %s",
			usText(obs.ReachedUS), usText(rec.DurationUS)))
	}
	for _, task := range checkedTasks(cr.Checks, rec) {
		t := rec.Tasks[task]
		if n := t.Jobs + t.Censored; n < uint64(ev.MinJobs) {
			ev.Missing = append(ev.Missing, fmt.Sprintf("%s: %d jobs observed, at least %d needed (min_jobs)", task, n, ev.MinJobs))
		}
	}
	if ev.MaxLoss >= 0 && ev.Loss > ev.MaxLoss {
		ev.Missing = append(ev.Missing, fmt.Sprintf("%.1f%% of telemetry lost (%d events), more than max_loss %g%%",
			100*ev.Loss, rec.Telemetry.Lost, 100*ev.MaxLoss))
	}
	return ev
}

// checkedTasks are the tasks the checks name; when they name none, every
// periodic task of the record (the score compares them all).
func checkedTasks(checks []record.Check, rec *record.RunRecord) []string {
	seen := map[string]bool{}
	for _, c := range checks {
		if task, ok := record.TaskOfMetric(c.Metric); ok {
			seen[task] = true
		}
	}
	if len(seen) == 0 {
		for name := range rec.Tasks {
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func usText(us int64) string {
	switch {
	case us >= 1_000_000:
		return fmt.Sprintf("%.3f s", float64(us)/1e6)
	case us >= 1000:
		return fmt.Sprintf("%.1f ms", float64(us)/1000)
	}
	return fmt.Sprintf("%d µs", us)
}
