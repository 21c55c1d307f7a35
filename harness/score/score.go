// Package score judges run records: the score against the reference run
// (docs/SCORING.md), the checks, and the requirements they cite. It reads
// and writes harness/record types only.
package score

import (
	"maps"
	"math"
	"slices"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// Scoring rules; docs/SCORING.md explains them.
const (
	pointsWatchdog    = 25 // each watchdog reset or hang the reference did not have
	pointsOtherReset  = 10 // each software, power-on or unexplained reset the reference did not have
	pointsMiss        = 2  // each deadline miss beyond the reference's, per task
	capMissPerTask    = 20
	pointsP99         = 5 // a task's p99 response more than 25% and 1 ms above the reference's
	pointsBlocking    = 5 // a task's worst blocking more than twice and 1 ms above the reference's
	pointsInversion   = 1 // each priority-inversion episode beyond the reference's
	capInversions     = 10
	pointsTelemetry   = 5 // more than 1% of events lost on the line
	slackUS           = 1000
	p99Factor         = 1.25
	blockingFactor    = 2.0
	lossFractionLimit = 0.01
	maxScore          = 100
	resetRuleWatchdog = "-25 per watchdog reset or hang the reference run did not have"
	resetRuleOther    = "-10 per software, power-on or unexplained reset the reference run did not have"
	missRule          = "-2 per deadline miss beyond the reference run's (at most -20 per task)"
	p99Rule           = "-5 when p99 response is more than 25% and 1 ms above the reference run's"
	blockingRule      = "-5 when worst blocking is more than twice and 1 ms above the reference run's"
	inversionRule     = "-1 per priority-inversion episode beyond the reference run's (at most -10)"
	telemetryLossRule = "-5 when more than 1% of events were lost on the line"
	pointsFinding     = 3 // each task metric outside the declared model that the reference kept inside
	capFindings       = 15
	findingRule       = "-3 per task metric above its analytic bound (outside the declared model) where the reference run stayed within it (at most -15)"
)

// Score compares a run with the reference run of the same plan. Each lost
// point is explained by a Deduction.
func Score(obs, ref *record.RunRecord) (float64, []record.Deduction) {
	var ds []record.Deduction
	add := func(metric string, refV, obsV float64, rule string, pts float64) {
		if pts > 0 {
			ds = append(ds, record.Deduction{Metric: metric, Reference: refV, Observed: obsV, Rule: rule, Points: pts})
		}
	}
	for _, k := range []struct {
		name       string
		obs, ref   int
		rule       string
		pointsEach float64
	}{
		{"resets.watchdog", obs.Resets.Watchdog, ref.Resets.Watchdog, resetRuleWatchdog, pointsWatchdog},
		{"resets.hang", obs.Resets.Hang, ref.Resets.Hang, resetRuleWatchdog, pointsWatchdog},
		{"resets.software", obs.Resets.Software, ref.Resets.Software, resetRuleOther, pointsOtherReset},
		{"resets.power_on", obs.Resets.PowerOn, ref.Resets.PowerOn, resetRuleOther, pointsOtherReset},
		{"resets.unknown", obs.Resets.Unknown, ref.Resets.Unknown, resetRuleOther, pointsOtherReset},
	} {
		if extra := k.obs - k.ref; extra > 0 {
			add(k.name, float64(k.ref), float64(k.obs), k.rule, float64(extra)*k.pointsEach)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(obs.Tasks)) {
		o := obs.Tasks[name]
		r, ok := ref.Tasks[name]
		if !ok {
			continue
		}
		if extra := int64(o.DeadlineMisses) - int64(r.DeadlineMisses); extra > 0 {
			add(name+".deadline_misses", float64(r.DeadlineMisses), float64(o.DeadlineMisses), missRule,
				math.Min(float64(extra)*pointsMiss, capMissPerTask))
		}
		if op, rp, fig := p99(o), p99(r), p99Name(o); float64(op) > float64(rp)*p99Factor && op-rp > slackUS {
			add(name+"."+fig, float64(rp), float64(op), p99Rule, pointsP99)
		}
		if float64(o.MaxBlockingUS) > float64(r.MaxBlockingUS)*blockingFactor && o.MaxBlockingUS-r.MaxBlockingUS > slackUS {
			add(name+".max_blocking_us", float64(r.MaxBlockingUS), float64(o.MaxBlockingUS), blockingRule, pointsBlocking)
		}
	}
	if extra := obs.Inversions - ref.Inversions; extra > 0 {
		add("inversions", float64(ref.Inversions), float64(obs.Inversions), inversionRule,
			math.Min(float64(extra)*pointsInversion, capInversions))
	}
	refFind := map[string]bool{}
	for _, f := range ref.Findings {
		refFind[f.Task+"."+f.Metric] = true
	}
	var findPts float64
	for _, f := range obs.Findings {
		if refFind[f.Task+"."+f.Metric] || findPts >= capFindings {
			continue
		}
		pts := math.Min(pointsFinding, capFindings-findPts)
		findPts += pts
		add("findings."+f.Task+"."+f.Metric, float64(worst(ref.Tasks[f.Task], f.Metric)), float64(f.ObservedUS), findingRule, pts)
	}
	if t := obs.Telemetry; t.Frames > 0 && t.LossFraction() > lossFractionLimit {
		add("telemetry.lost", 0, float64(t.Lost), telemetryLossRule, pointsTelemetry)
	}
	score := float64(maxScore)
	for _, d := range ds {
		score -= d.Points
	}
	return math.Max(score, 0), ds
}

// p99 is a task's 99th percentile: of its responses, or at trace level 0
// of its per-second window maxima (the reference run has the same level).
func p99(t analyze.TaskResult) int64 {
	if t.WindowMax {
		return t.P99OfWindowMaxUS
	}
	return t.P99ResponseUS
}

func p99Name(t analyze.TaskResult) string {
	if t.WindowMax {
		return "p99_of_window_max_us"
	}
	return "p99_response_us"
}

// worst is a task's worst observation of an oracle metric.
func worst(t analyze.TaskResult, metric string) int64 {
	switch metric {
	case "response_us":
		return t.MaxResponseUS
	case "blocking_us":
		return t.MaxBlockingUS
	case "exec_us":
		return t.MaxExecUS
	}
	return 0
}
