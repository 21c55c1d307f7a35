package shrink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/hilchaos/hilchaos/faults"
)

// ErrBudget is returned (wrapped) when the trial or board-time budget ran
// out; the Result still holds the smallest failing schedule found.
var ErrBudget = errors.New("shrink budget used up")

// ErrNotReproduced means the starting schedule did not fail with the
// run's signature when tried again: there is nothing the shrink can trust.
var ErrNotReproduced = errors.New("the original schedule does not reproduce the failure")

// Shrinker minimises one failing schedule.
type Shrinker struct {
	Oracle   Oracle
	Decision Decision
	// Log, if not nil, answers trials it already holds and records every
	// new one before it counts.
	Log *Log
	// Salt names the oracle (target, seed, mode) in every log key, so a
	// log is never replayed against another target.
	Salt   string
	Budget Budget
	// Margin is added after the failure's time when the run is cut
	// (default 500ms); Round rounds the cut duration up (default 100ms).
	Margin, Round time.Duration
	// Progress, if not nil, is called after every trial.
	Progress func(Progress)

	signature string
	step      string
	size      int
	trials    int
	ran       int
	boardUS   int64
	memo      map[string]verdict
	failAt    map[string]int64 // candidate key -> latest FailAtUS of its matching trials
	confirmed map[string]bool  // candidate key and first repetition -> confirmed
	outcomes  map[logKey]Outcome
}

// Trials is the number of trials used so far.
func (s *Shrinker) Trials() int { return s.trials }

// Result is what a shrink found.
type Result struct {
	Original  Candidate `json:"original"`
	Shrunk    Candidate `json:"shrunk"`
	Signature string    `json:"signature"`
	// Trials counts every trial the shrink used, those answered from the
	// log included; Ran those run by this invocation.
	Trials  int   `json:"trials"`
	Ran     int   `json:"ran"`
	BoardUS int64 `json:"board_us"`
	// FailAtUS is the run time of the failure in the shrunk schedule's
	// last matching trial (-1 if unknown).
	FailAtUS int64 `json:"fail_at_us"`
	// Minimal is true when ddmin finished: removing any one firing of
	// Shrunk makes the failure go away.
	Minimal bool `json:"minimal"`
	// Exhausted is set when the budget ended the shrink early.
	Exhausted bool `json:"exhausted"`
	// Edges are the smallest parameter values that failed on the judging
	// seeds (or trials); the shrunk schedule keeps a margin above them.
	Edges []ParamEdge `json:"edges,omitempty"`
	// Fragile, when not empty, says which step's result did not hold on
	// the confirmation seeds and what was kept instead.
	Fragile string `json:"fragile,omitempty"`
	// Steps records the schedule's size after each step.
	Steps []StepResult `json:"steps"`
}

// StepResult is the state after one step.
type StepResult struct {
	Step       string `json:"step"`
	Firings    int    `json:"firings"`
	DurationUS int64  `json:"duration_us"`
	Trials     int    `json:"trials"`
}

// key is c's log key under the shrinker's salt.
func (s *Shrinker) key(c Candidate) string {
	sum := sha256.Sum256([]byte(s.Salt + "\x00" + c.Key()))
	return hex.EncodeToString(sum[:12])
}

func (s *Shrinker) report() {
	if s.Progress == nil {
		return
	}
	p := Progress{Step: s.step, Size: s.size, Trials: s.trials, Ran: s.ran, BoardUS: s.boardUS, TrialsLeft: -1, BoardLeft: -1}
	if s.Budget.Trials > 0 {
		p.TrialsLeft = max(s.Budget.Trials-s.trials, 0)
	}
	if s.Budget.Board > 0 {
		p.BoardLeft = max(s.Budget.Board.Microseconds()-s.boardUS, 0)
	}
	s.Progress(p)
}

func (s *Shrinker) outOfBudget() bool {
	return (s.Budget.Trials > 0 && s.trials >= s.Budget.Trials) ||
		(s.Budget.Board > 0 && s.boardUS >= s.Budget.Board.Microseconds())
}

// trial runs (or reads from the log) repetition rep of c.
func (s *Shrinker) trial(ctx context.Context, c Candidate, key string, rep int) (Outcome, error) {
	lk := logKey{key, rep}
	if o, ok := s.outcomes[lk]; ok {
		return o, nil // already counted in this invocation
	}
	if s.Log != nil {
		if o, ok := s.Log.lookup(key, rep); ok {
			s.outcomes[lk] = o
			s.trials++
			s.boardUS += o.BoardUS
			s.report()
			return o, nil
		}
	}
	if s.outOfBudget() {
		return Outcome{}, ErrBudget
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	o, err := s.Oracle.Trial(ctx, c, rep)
	if err != nil {
		return o, err
	}
	if s.Log != nil {
		if err := s.Log.append(Entry{Key: key, Rep: rep, Step: s.step, Firings: c.Size(), Outcome: o}); err != nil {
			return o, err
		}
	}
	s.outcomes[lk] = o
	s.trials++
	s.ran++
	s.boardUS += o.BoardUS
	s.report()
	return o, nil
}

// Reproduces judges whether c fails with the shrink's signature, running
// as many trials as the decision needs; a candidate is judged once.
func (s *Shrinker) reproduces(ctx context.Context, c Candidate) (bool, error) {
	key := s.key(c)
	if v, ok := s.memo[key]; ok {
		return v == yes, nil
	}
	var seen []bool
	for rep := 0; ; rep++ {
		o, err := s.trial(ctx, c, key, rep)
		if err != nil {
			return false, err
		}
		match := o.Failed && o.Signature == s.signature
		if match {
			if at, ok := s.failAt[key]; !ok || o.FailAtUS > at {
				s.failAt[key] = o.FailAtUS
			}
		}
		seen = append(seen, match)
		if v := s.Decision.decide(seen); v != undecided {
			s.memo[key] = v
			return v == yes, nil
		}
	}
}

// confirm runs the confirmation trials of c (Decision.Confirm fresh
// seeds from repetition from on), stopping at the first that does not
// reproduce. With no confirmation configured every candidate passes.
func (s *Shrinker) confirm(ctx context.Context, c Candidate, from int) (bool, error) {
	if s.Decision.Mode != Once || s.Decision.Confirm <= 0 {
		return true, nil
	}
	key := s.key(c)
	ck := fmt.Sprintf("%s/%d", key, from)
	if v, ok := s.confirmed[ck]; ok {
		return v, nil
	}
	step := s.step
	s.step = "confirm"
	defer func() { s.step = step }()
	for r := 0; r < s.Decision.Confirm; r++ {
		o, err := s.trial(ctx, c, key, from+r)
		if err != nil {
			return false, err
		}
		if !(o.Failed && o.Signature == s.signature) {
			s.confirmed[ck] = false
			return false, nil
		}
	}
	s.confirmed[ck] = true
	return true, nil
}

// accept is reproduces and, where configured, confirms.
func (s *Shrinker) accept(ctx context.Context, c Candidate, from int) (bool, error) {
	ok, err := s.reproduces(ctx, c)
	if !ok || err != nil {
		return ok, err
	}
	return s.confirm(ctx, c, from)
}

// Shrink minimises orig, which failed with signature sig. On ErrBudget the
// result holds the smallest failing schedule found so far; on other
// errors (context cancelled, the oracle's infrastructure errors) the
// result is partial and the error says why.
func (s *Shrinker) Shrink(ctx context.Context, orig Candidate, sig string) (*Result, error) {
	if err := s.Decision.Validate(); err != nil {
		return nil, err
	}
	if sig == "" {
		return nil, errors.New("shrink: empty failure signature: the run did not fail")
	}
	if s.Margin <= 0 {
		s.Margin = 500 * time.Millisecond
	}
	if s.Round <= 0 {
		s.Round = 100 * time.Millisecond
	}
	s.signature = sig
	s.memo = map[string]verdict{}
	s.failAt = map[string]int64{}
	s.confirmed = map[string]bool{}
	s.outcomes = map[logKey]Outcome{}
	orig = orig.clone()
	SortFirings(orig.Firings)
	best := orig
	res := &Result{Original: orig, Signature: sig, FailAtUS: -1}
	finish := func(err error) (*Result, error) {
		res.Shrunk = best
		res.Trials, res.Ran, res.BoardUS = s.trials, s.ran, s.boardUS
		if at, ok := s.failAt[s.key(best)]; ok {
			res.FailAtUS = at
		}
		if errors.Is(err, ErrBudget) {
			res.Exhausted, res.Minimal = true, false
			return res, fmt.Errorf("%w after %d trials and %s of board time: the schedule is smaller but not minimal", ErrBudget, s.trials, time.Duration(s.boardUS)*time.Microsecond)
		}
		return res, err
	}
	stepDone := func(name string) {
		res.Steps = append(res.Steps, StepResult{Step: name, Firings: best.Size(), DurationUS: best.DurationUS, Trials: s.trials})
	}
	s.size = orig.Size()
	confirmFrom := ConfirmRep

	// The original must fail again, the same way.
	s.step = "check"
	ok, err := s.reproduces(ctx, orig)
	if err != nil {
		return finish(err)
	}
	if !ok {
		return finish(fmt.Errorf("%w (signature %q) under the %s decision", ErrNotReproduced, sig, s.Decision.Mode))
	}
	stepDone("check")

	// Causality: firings after the failure cannot have caused it. Keep
	// the prefix up to the failure and cut the run after it, with the
	// margin doubled while the cut run does not fail (a run too short to
	// show enough jobs is inconclusive, not failed).
	s.step = "prefix"
	if at, ok := s.failAt[s.key(orig)]; ok && at >= 0 {
		for margin := s.Margin.Microseconds(); ; margin *= 2 {
			p := s.prefix(orig, at, margin)
			if p.Size() == orig.Size() && p.DurationUS >= orig.DurationUS {
				break
			}
			ok, err := s.reproduces(ctx, p)
			if err != nil {
				return finish(err)
			}
			if ok {
				best, s.size = p, p.Size()
				break
			}
			if p.DurationUS >= orig.DurationUS {
				break
			}
		}
	}
	stepDone("prefix")
	base := best

	// ddmin. The empty schedule first: a board that fails with no fault
	// at all needs no shrinking (and ddmin assumes it passes). A result
	// that holds only for the judging seeds is shrunk again with the
	// confirmation seeds added to them; failing that, the prefix stays.
	s.step = "ddmin"
	seeds := s.Decision.Seeds
	defer func() { s.Decision.Seeds = seeds }()
	for round := 0; ; round++ {
		best = base
		min, err := s.ddmin(ctx, base, &best)
		if err != nil {
			return finish(err)
		}
		best, s.size = min, min.Size()
		ok, err := s.confirm(ctx, best, confirmFrom)
		if err != nil {
			return finish(err)
		}
		if ok {
			res.Minimal = true
			break
		}
		if round == 1 {
			res.Fragile = fmt.Sprintf("the 1-minimal schedule of %d firing(s) did not fail on every confirmation seed, even judged on %d seeds: the prefix of %d firing(s) is kept", best.Size(), s.Decision.Seeds, base.Size())
			best, s.size = base, base.Size()
			break
		}
		s.Decision.Seeds = max(seeds, 1) + s.Decision.Confirm
		s.memo = map[string]verdict{}
		confirmFrom += s.Decision.Confirm
	}
	// The parameters are judged on the configured seeds again: their
	// edges are confirmed (and backed off) on their own.
	if s.Decision.Seeds != seeds {
		s.Decision.Seeds = seeds
		s.memo = map[string]verdict{}
	}
	stepDone("ddmin")

	// Each firing's numeric parameters, toward the smallest that fails;
	// then backed off toward the original while that edge does not hold
	// on the confirmation seeds.
	s.step = "params"
	before := best
	var edges []edge
	for i := range best.Firings {
		if res.Fragile != "" {
			break // the schedule kept did not confirm: its parameters are not to be trusted lower
		}
		for _, p := range numericParams(best.Firings[i]) {
			e, err := s.shrinkParam(ctx, &best, i, p)
			if err != nil {
				return finish(err)
			}
			if e.value < p.value {
				edges = append(edges, e)
			}
		}
	}
	exact := s.Decision.Mode == Once && s.Decision.Seeds <= 1 && s.Decision.Confirm == 0
	if len(edges) > 0 && !exact {
		// On a board that repeats itself exactly, the edge is the answer.
		// An edge found on a few seeds, or by a sequential test, is a
		// knife's edge: the board's execution times on the next seed move
		// it, and on a flaky board it sits where the reproduction rate
		// crosses one half. Keep the first step back toward the original
		// (a quarter of the way, then a half, ...) that is judged to
		// reproduce and holds on every confirmation seed; the edge itself
		// is in the result.
		res.Edges = nil
		for _, e := range edges {
			res.Edges = append(res.Edges, ParamEdge{Firing: e.firing, Param: e.p.name, Edge: formatParam(e.p, e.value), Original: formatParam(e.p, e.p.value)})
		}
		ok := false
		for k := int64(1); !ok && k <= backoffSteps; k++ {
			c := before.clone()
			if k < backoffSteps {
				for _, e := range edges {
					v := e.value + (e.p.value-e.value)*k/backoffSteps
					v = min((v+e.grid-1)/e.grid*e.grid, e.p.value)
					c.Firings[e.firing].Params[e.p.name] = formatParam(e.p, v)
				}
			}
			if ok, err = s.accept(ctx, c, confirmFrom); err != nil {
				return finish(err)
			}
			if ok {
				best = c
			}
		}
		if !ok {
			best = before
			res.Fragile = "the original parameters of the shrunk firings did not fail on every confirmation seed"
		}
	}
	stepDone("params")

	// The run's duration, to just after the failure.
	s.step = "duration"
	if err := s.cutDuration(ctx, &best, confirmFrom); err != nil {
		return finish(err)
	}
	stepDone("duration")
	return finish(nil)
}

// ParamEdge is where one parameter's bisection ended.
type ParamEdge struct {
	Firing   int    `json:"firing"` // index into Shrunk.Firings
	Param    string `json:"param"`
	Edge     any    `json:"edge"`
	Original any    `json:"original"`
}

// backoffSteps is how many steps a parameter edge that does not confirm
// is moved back toward the original value in (the last is the original).
const backoffSteps = 4

// edge is where one parameter's bisection ended.
type edge struct {
	firing int
	p      numParam
	value  int64 // µs for a duration
	grid   int64
}

// prefix is c without the firings after at, run until at plus margin
// (µs), rounded up.
func (s *Shrinker) prefix(c Candidate, at, margin int64) Candidate {
	var idx []int
	for i, f := range c.Firings {
		if f.AtUS <= at {
			idx = append(idx, i)
		}
	}
	p := c.with(idx)
	round := s.Round.Microseconds()
	d := (at + margin + round - 1) / round * round
	p.DurationUS = min(d, c.DurationUS)
	return p
}

// ddmin runs delta debugging over base's firings, updating *best with
// every smaller failing candidate so a budget stop keeps the progress.
func (s *Shrinker) ddmin(ctx context.Context, base Candidate, best *Candidate) (Candidate, error) {
	empty := base.with(nil)
	if ok, err := s.reproduces(ctx, empty); err != nil || ok {
		if ok {
			*best = empty
		}
		return empty, err
	}
	idx := make([]int, base.Size())
	for i := range idx {
		idx[i] = i
	}
	min, err := DDMin(ctx, idx, func(ctx context.Context, sub []int) (bool, error) {
		c := base.with(sub)
		ok, err := s.reproduces(ctx, c)
		if ok && c.Size() < best.Size() {
			*best, s.size = c, c.Size()
		}
		return ok, err
	})
	if err != nil {
		return *best, err
	}
	return base.with(min), nil
}

// numParam is one numeric parameter of a firing.
type numParam struct {
	name     string
	duration bool
	value    int64 // µs for a duration
}

// numericParams lists the firing's duration and integer parameters in
// name order, with positive values.
func numericParams(f Firing) []numParam {
	types, ok := faults.Params(f.Kind)
	if !ok {
		return nil
	}
	var out []numParam
	for name, v := range f.Params {
		t, ok := types[name]
		if !ok {
			continue
		}
		p := numParam{name: name}
		switch {
		case t == reflect.TypeOf(time.Duration(0)):
			s, ok := v.(string)
			if !ok {
				continue
			}
			d, err := time.ParseDuration(s)
			if err != nil || d < time.Microsecond {
				continue
			}
			p.duration, p.value = true, d.Microseconds()
		case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
			n, ok := toInt(v)
			if !ok || n <= 0 {
				continue
			}
			p.value = n
		default:
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].name < out[b].name })
	return out
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}

// grid is the step a duration is bisected on: coarse enough that the
// result reads well (86ms, not 85.937ms), fine enough for ten steps.
func grid(us int64) int64 {
	for _, g := range []int64{1000, 100, 10} {
		if us >= 10*g {
			return g
		}
	}
	return 1
}

// FormatParam writes a parameter value as a campaign would.
func formatParam(p numParam, v int64) any {
	if p.duration {
		return (time.Duration(v) * time.Microsecond).String()
	}
	return int(v)
}

// valid reports whether the fault kind accepts the firing's parameters.
func valid(f Firing) bool {
	_, errs := faults.Decode(f.Kind, f.Params)
	return len(errs) == 0
}

// shrinkParam bisects parameter p of firing i of *best and returns where
// it ended.
func (s *Shrinker) shrinkParam(ctx context.Context, best *Candidate, i int, p numParam) (edge, error) {
	g := int64(1)
	if p.duration {
		g = grid(p.value)
	}
	steps := (p.value + g - 1) / g // step k stands for k*g, the last for the value itself
	at := func(k int64) int64 {
		if k >= steps {
			return p.value
		}
		return k * g
	}
	try := func(ctx context.Context, k int64) (bool, error) {
		c := best.clone()
		c.Firings[i].Params[p.name] = formatParam(p, at(k))
		if !valid(c.Firings[i]) {
			return false, nil
		}
		return s.reproduces(ctx, c)
	}
	k, err := BisectMin(ctx, 0, steps, try)
	if k < steps {
		c := best.clone()
		c.Firings[i].Params[p.name] = formatParam(p, at(k))
		*best = c
	}
	return edge{firing: i, p: p, value: at(k), grid: g}, err
}

// cutDuration shortens the run to the failure's time plus the margin,
// rounded up, doubling the margin while the cut run no longer fails.
func (s *Shrinker) cutDuration(ctx context.Context, best *Candidate, confirmFrom int) error {
	round := s.Round.Microseconds()
	var last int64
	for _, f := range best.Firings {
		last = max(last, f.AtUS)
	}
	at, known := s.failAt[s.key(*best)]
	if !known || at < 0 {
		// No time for the failure: bisect the duration on the rounding
		// grid, from just after the last firing.
		lo := last/round + 1
		hi := (best.DurationUS + round - 1) / round
		if hi <= lo {
			return nil
		}
		k, err := BisectMin(ctx, lo-1, hi, func(ctx context.Context, k int64) (bool, error) {
			c := best.clone()
			c.DurationUS = min(k*round, best.DurationUS)
			return s.accept(ctx, c, confirmFrom)
		})
		if d := min(k*round, best.DurationUS); d < best.DurationUS {
			c := best.clone()
			c.DurationUS = d
			*best = c
		}
		return err
	}
	for margin := s.Margin.Microseconds(); ; margin *= 2 {
		d := max(at, last) + margin
		d = (d + round - 1) / round * round
		if d >= best.DurationUS {
			return nil
		}
		c := best.clone()
		c.DurationUS = d
		ok, err := s.accept(ctx, c, confirmFrom)
		if err != nil {
			return err
		}
		if ok {
			*best = c
			return nil
		}
	}
}
