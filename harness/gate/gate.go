package gate

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Verdicts of a gate.
const (
	Pass       = "pass"
	Regression = "regression"
	Invalid    = "invalid" // the inputs cannot be compared, or are too small to decide
	Error      = "error"   // a run in the inputs ended in a rig failure
)

// DefaultAlpha is the family-wise false-alarm rate of the relative tests.
const DefaultAlpha = 0.05

// Latency figures tested per task, as named in the run records.
var latencyFigures = []string{"p99_response_us", "max_response_us"}

// Side describes one result set.
type Side struct {
	Dir          string   `json:"dir"`
	Runs         int      `json:"runs"`
	Campaign     string   `json:"campaign,omitempty"`
	CampaignHash string   `json:"campaign_hash,omitempty"`
	Targets      []string `json:"targets,omitempty"`
	Firmware     []string `json:"firmware,omitempty"`
	Seeds        []uint64 `json:"-"`
	DurationUS   int64    `json:"duration_us,omitempty"`
	TraceLevel   string   `json:"trace_level,omitempty"`
	ResetRuns    int      `json:"reset_runs"`
}

// Failure is one absolute check a candidate run failed.
type Failure struct {
	Run         int     `json:"run"`
	Check       string  `json:"check"`
	Requirement string  `json:"requirement,omitempty"`
	Value       float64 `json:"value"`
}

// CheckFailures is one check the candidate failed, over its runs.
type CheckFailures struct {
	Check       string  `json:"check"`
	Requirement string  `json:"requirement,omitempty"`
	Runs        []int   `json:"runs"`
	Of          int     `json:"of"`
	Worst       float64 `json:"worst"`
	WorstText   string  `json:"worst_text"`
}

// Test is one relative comparison.
type Test struct {
	Metric     string  `json:"metric"`
	Test       string  `json:"test"`     // mann-whitney or fisher
	Baseline   float64 `json:"baseline"` // median (µs), or the fraction of runs that reset
	Candidate  float64 `json:"candidate"`
	BaselineN  int     `json:"baseline_n"`
	CandidateN int     `json:"candidate_n"`
	U          float64 `json:"u,omitempty"`
	P          float64 `json:"p"`
	PAdjusted  float64 `json:"p_holm"`
	Exact      bool    `json:"exact"`
	Regression bool    `json:"regression"`
	Undecided  string  `json:"undecided,omitempty"` // why no decision was possible
}

// Report is the gate's answer.
type Report struct {
	Verdict   string    `json:"verdict"`
	Reason    string    `json:"reason"`
	Alpha     float64   `json:"alpha"`
	Baseline  Side      `json:"baseline"`
	Candidate Side      `json:"candidate"`
	Absolute  []Failure `json:"absolute"`
	// FailedChecks groups Absolute by check, worst observed value first.
	FailedChecks []CheckFailures `json:"failed_checks"`
	Tests        []Test          `json:"tests"`
	Notes        []string        `json:"notes,omitempty"`
	// Regressions names every metric or check that regressed.
	Regressions []string `json:"regressions"`
}

// Config steers the gate.
type Config struct {
	Alpha float64 // family-wise, over every relative test; 0 means DefaultAlpha
	// ByRig stratifies the latency tests by the rig each run was done on
	// (rig.go), so rig-to-rig differences are not read as regressions.
	ByRig bool
	// AllowSameBuild compares two sides whose boards report the same
	// build id (otherwise refused: the firmware is compared with itself).
	AllowSameBuild bool
	// AllowDifferent compares result sets of different campaigns (by
	// content hash) instead of refusing them.
	AllowDifferent bool
}

// InputError is a result directory that cannot be read as a run log.
type InputError struct {
	Dir string
	Err error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Dir, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// Load reads a results directory's run log.
func Load(dir string) ([]record.RunRecord, []error, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, &InputError{Dir: dir, Err: err}
	}
	if !st.IsDir() {
		return nil, nil, &InputError{Dir: dir, Err: errors.New("not a results directory")}
	}
	recs, warns, err := record.ReadRuns(dir)
	if err != nil {
		return nil, warns, &InputError{Dir: dir, Err: err}
	}
	if len(recs) == 0 {
		return nil, warns, &InputError{Dir: dir, Err: errors.New("no run records in " + record.RunsFile)}
	}
	return recs, warns, nil
}

func describe(dir string, recs []record.RunRecord) (Side, []string) {
	s := Side{Dir: dir, Runs: len(recs)}
	var problems []string
	hashes, durs, levels := map[string]bool{}, map[int64]bool{}, map[string]bool{}
	targets, fws := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		hashes[r.CampaignHash] = true
		durs[r.DurationUS] = true
		targets[r.Target] = true
		fws[fmt.Sprintf("%s %s (%s)", r.Firmware.Name, r.Firmware.Version, r.Firmware.Build)] = true
		s.Campaign, s.CampaignHash, s.DurationUS = r.Campaign, r.CampaignHash, r.DurationUS
		s.TraceLevel = traceLevel(&r)
		levels[s.TraceLevel] = true
		s.Seeds = append(s.Seeds, r.Seed)
		if r.Resets.Total() > 0 {
			s.ResetRuns++
		}
		if r.Sweep != nil {
			problems = append(problems, fmt.Sprintf("%s holds sweep runs (%s=%s): a sweep varies the stress, so its runs are not one sample", dir, r.Sweep.Param, r.Sweep.Value))
			break
		}
	}
	s.Targets, s.Firmware = keys(targets), keys(fws)
	if len(hashes) > 1 {
		problems = append(problems, fmt.Sprintf("%s holds runs of %d different campaigns: gate one campaign at a time", dir, len(hashes)))
	}
	if len(durs) > 1 {
		problems = append(problems, fmt.Sprintf("%s holds runs of %d different board durations: they are not one sample", dir, len(durs)))
	}
	if len(levels) > 1 {
		problems = append(problems, fmt.Sprintf("%s holds runs of different trace levels (%s): their figures are different statistics", dir, strings.Join(keys(levels), ", ")))
	}
	return s, problems
}

// traceLevel is the trace level a record was made at. Records older than
// the trace_level field tell level 0 by their window-maximum figures.
func traceLevel(r *record.RunRecord) string {
	if r.TraceLevel != "" {
		return r.TraceLevel
	}
	for _, t := range r.Tasks {
		if t.WindowMax {
			return "summary"
		}
	}
	return "per-job (default or full)"
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Compare judges the candidate runs against the baseline runs.
func Compare(baseDir string, base []record.RunRecord, candDir string, cand []record.RunRecord, cfg Config) *Report {
	alpha := cfg.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	rep := &Report{Alpha: alpha, Absolute: []Failure{}, FailedChecks: []CheckFailures{}, Tests: []Test{}, Regressions: []string{}}
	var problems []string
	var p1, p2 []string
	rep.Baseline, p1 = describe(baseDir, base)
	rep.Candidate, p2 = describe(candDir, cand)
	problems = append(append(problems, p1...), p2...)
	if rep.Baseline.DurationUS != rep.Candidate.DurationUS {
		problems = append(problems, fmt.Sprintf("baseline runs last %s of board time, candidate runs %s: not comparable",
			usText(rep.Baseline.DurationUS), usText(rep.Candidate.DurationUS)))
	}
	if rep.Baseline.CampaignHash != rep.Candidate.CampaignHash {
		msg := fmt.Sprintf("baseline and candidate come from different campaigns: %s (sha256 %s) and %s (sha256 %s)",
			rep.Baseline.Campaign, rep.Baseline.CampaignHash, rep.Candidate.Campaign, rep.Candidate.CampaignHash)
		if cfg.AllowDifferent {
			rep.Notes = append(rep.Notes, msg+"; compared anyway (--allow-different)")
		} else {
			problems = append(problems, msg+": the stress differs, so the figures do not compare (--allow-different compares them anyway)")
		}
	}
	if a, b := rep.Baseline.TraceLevel, rep.Candidate.TraceLevel; a != b {
		problems = append(problems, fmt.Sprintf("baseline runs were traced at level %s, candidate runs at %s: at level 0 the figures are of per-second window maxima, not of jobs, so they do not compare", a, b))
	}
	if id, same := sameBuild(base, cand); same && !cfg.AllowSameBuild {
		problems = append(problems, fmt.Sprintf("baseline and candidate boards both report build id %s: that compares a firmware with itself (--allow-same-build compares them anyway, to measure rig or seed noise)", id))
	}
	if len(problems) > 0 {
		rep.Verdict, rep.Reason = Invalid, strings.Join(problems, "; ")
		return rep
	}
	if cfg.ByRig {
		rep.Notes = append(rep.Notes, rigNote(base, cand))
	}

	// Absolute failures, from the candidate's own records: a regression
	// whatever the sample size and whatever else the inputs hold.
	rep.absolute(cand)

	var errs []string
	for _, side := range []struct {
		name string
		recs []record.RunRecord
	}{{"baseline", base}, {"candidate", cand}} {
		for _, r := range side.recs {
			switch r.Verdict {
			case record.Error:
				errs = append(errs, fmt.Sprintf("%s run %d: %s", side.name, r.Index, r.Error))
			case record.Inconclusive:
				why := "inconclusive"
				if r.Evidence != nil && len(r.Evidence.Missing) > 0 {
					why += ": " + strings.Join(r.Evidence.Missing, "; ")
				}
				errs = append(errs, fmt.Sprintf("%s run %d: %s", side.name, r.Index, why))
			}
		}
	}
	if len(errs) > 0 {
		what := fmt.Sprintf("%d run(s) ended in a rig failure or without the evidence a verdict needs, which says nothing about the firmware: rerun them (%s)", len(errs), strings.Join(errs, "; "))
		if len(rep.Regressions) > 0 {
			rep.Verdict = Regression
			rep.Reason = "the candidate fails absolute checks: " + strings.Join(rep.Regressions, ", ") + "; besides, " + what
			return rep
		}
		rep.Verdict, rep.Reason = Error, what
		return rep
	}

	// The relative tests: one per task and latency figure, plus resets.
	tasks := map[string]bool{}
	for _, recs := range [][]record.RunRecord{base, cand} {
		for _, r := range recs {
			for name := range r.Tasks {
				tasks[name] = true
			}
		}
	}
	for _, task := range keys(tasks) {
		for _, fig := range latencyFigures {
			x, y := figure(base, task, fig), figure(cand, task, fig)
			rep.Tests = append(rep.Tests, Test{Metric: task + "." + fig, Test: "mann-whitney",
				Baseline: median(x), Candidate: median(y), BaselineN: len(x), CandidateN: len(y)})
		}
	}
	rep.Tests = append(rep.Tests, Test{Metric: "resets (runs with any reset)", Test: "fisher",
		Baseline: frac(rep.Baseline.ResetRuns, len(base)), Candidate: frac(rep.Candidate.ResetRuns, len(cand)),
		BaselineN: len(base), CandidateN: len(cand)})

	m := len(rep.Tests)
	need := MinRuns(m, alpha)
	if MinP(len(base), len(cand)) > alpha/float64(m) {
		small := fmt.Sprintf("sample too small to decide: baseline has %d run(s), candidate %d; with %d tests at a family-wise alpha of %g the smallest p-value %d and %d runs can give is %.3g, above the strictest threshold %.3g. Give each side at least %d runs (docs/GATE.md)",
			len(base), len(cand), m, alpha, len(base), len(cand), MinP(len(base), len(cand)), alpha/float64(m), need)
		rep.Tests = []Test{}
		if len(rep.Regressions) > 0 {
			rep.Verdict = Regression
			rep.Reason = "the candidate fails absolute checks: " + strings.Join(rep.Regressions, ", ") + " (the relative tests were not run: " + small + ")"
			return rep
		}
		rep.Verdict, rep.Reason = Invalid, small
		return rep
	}
	var ps []float64
	var idx []int
	for i := range rep.Tests {
		t := &rep.Tests[i]
		if t.Test == "fisher" {
			t.P, t.Exact = FisherGreater(rep.Baseline.ResetRuns, len(base), rep.Candidate.ResetRuns, len(cand)), true
		} else {
			if MinP(t.BaselineN, t.CandidateN) > alpha/float64(m) {
				t.Undecided = fmt.Sprintf("too few runs with this task (%d baseline, %d candidate)", t.BaselineN, t.CandidateN)
				t.P, t.PAdjusted = 1, 1
				continue
			}
			task, fig, _ := strings.Cut(t.Metric, ".")
			r := MannWhitney(figure(base, task, fig), figure(cand, task, fig))
			if cfg.ByRig {
				r = StratifiedMannWhitney(figureByRig(base, task, fig), figureByRig(cand, task, fig))
			}
			t.U, t.P, t.Exact = r.U, r.PGreater, r.Exact
		}
		ps = append(ps, t.P)
		idx = append(idx, i)
	}
	reject, adj := Holm(ps, alpha)
	for k, i := range idx {
		t := &rep.Tests[i]
		t.PAdjusted = adj[k]
		t.Regression = reject[k] && t.Candidate > t.Baseline
		if t.Regression {
			rep.Regressions = append(rep.Regressions, t.Metric)
		}
	}

	baseFails := 0
	for _, r := range base {
		if r.Verdict == record.Fail {
			baseFails++
		}
	}
	if baseFails > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the baseline itself fails its checks in %d of %d runs", baseFails, len(base)))
	}
	if len(rep.Regressions) > 0 {
		rep.Verdict = Regression
		rep.Reason = "the candidate is worse: " + strings.Join(rep.Regressions, ", ")
	} else {
		rep.Verdict = Pass
		rep.Reason = fmt.Sprintf("no check failed and no metric is significantly worse (%d tests, family-wise alpha %g, Holm)", len(ps), alpha)
	}
	return rep
}

// absolute lists every check a candidate run that reached a verdict failed, grouped per check,
// and names each in Regressions. A run that failed without a failed check
// (its board bricked, or its score fell below min_score) is listed too.
func (rep *Report) absolute(cand []record.RunRecord) {
	byCheck := map[string]*CheckFailures{}
	parsed := map[string]record.Check{} // by expression, once each; absent if it does not parse
	var order []string
	for _, r := range cand {
		if r.Verdict == record.Inconclusive || r.Verdict == record.Error {
			continue // no evidence either way: reported as such by Compare
		}
		checks := r.Checks
		if r.Resets.Brick > 0 {
			checks = append(checks[:len(checks):len(checks)], record.CheckResult{Check: record.Check{Expr: "resets.brick == 0", Metric: "resets.brick", Op: "==", Limit: 0}, Value: float64(r.Resets.Brick)})
		}
		for _, c := range checks {
			if c.Pass {
				continue
			}
			rep.Absolute = append(rep.Absolute, Failure{Run: r.Index, Check: c.Expr, Requirement: c.Requirement, Value: c.Value})
			cf := byCheck[c.Expr]
			if cf == nil {
				cf = &CheckFailures{Check: c.Expr, Requirement: c.Requirement, Of: len(cand), Worst: c.Value}
				byCheck[c.Expr] = cf
				order = append(order, c.Expr)
				if p, err := record.ParseCheck(c.Expr, nil); err == nil {
					parsed[c.Expr] = p
				}
			}
			cf.Runs = append(cf.Runs, r.Index)
			if p, ok := parsed[c.Expr]; ok && !p.Holds(cf.Worst) && math.Abs(c.Value-p.Limit) > math.Abs(cf.Worst-p.Limit) {
				cf.Worst = c.Value
			}
		}
	}
	for _, expr := range order {
		cf := byCheck[expr]
		cf.WorstText = record.FormatMetric(parsed[expr].Metric, cf.Worst)
		rep.FailedChecks = append(rep.FailedChecks, *cf)
		rep.Regressions = append(rep.Regressions, fmt.Sprintf("check %s (failed in %d of %d candidate runs)", expr, len(cf.Runs), len(cand)))
	}
}

// figure collects one latency figure of one task over the runs that have
// the task.
func figure(recs []record.RunRecord, task, fig string) []float64 {
	var out []float64
	for _, r := range recs {
		t, ok := r.Tasks[task]
		if !ok {
			continue
		}
		switch fig {
		case "p99_response_us":
			if t.WindowMax {
				out = append(out, float64(t.P99OfWindowMaxUS)) // both sides are level 0: checked above
			} else {
				out = append(out, float64(t.P99ResponseUS))
			}
		case "max_response_us":
			out = append(out, float64(t.MaxResponseUS))
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func frac(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

func usText(us int64) string {
	return fmt.Sprintf("%gs", float64(us)/1e6)
}
