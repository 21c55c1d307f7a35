package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/hilchaos/hilchaos/faults"
)

// SearchBreakingPoint is the sweep search that bisects to the smallest
// value that breaks the board.
const SearchBreakingPoint = "breaking-point"

// DefaultConfirm is the number of runs a breaking-point search makes at
// each value it probes.
const DefaultConfirm = 3

// maxSweepValues bounds a range sweep's grid, so a typo in step cannot plan
// a million runs.
const maxSweepValues = 10000

// Sweep varies one parameter of one fault over a grid of values. Every
// value is run with the same run seeds (run r of every value has the seed
// RunSeed(campaign seed, r)), so two values differ only in the parameter:
// the board's execution times and the fault firing times are the same.
type Sweep struct {
	Fault     string       // the fault's name
	Param     string       // its parameter, e.g. extra
	Values    []SweepValue // the grid, in the order written (ascending for a range)
	Nominal   SweepValue   // the fault's own value in the file
	Search    string       // "" runs every value; SearchBreakingPoint bisects
	Confirm   int          // runs per probed value in a search
	MinMargin *SweepValue  // a search fails when the margin is below this
	PerValue  int          // runs per value: Confirm for a search, else Repeat

	isTime bool
	fault  int // index into Campaign.Faults
}

// SweepValue is one value of a swept parameter.
type SweepValue struct {
	Index int     // position in the campaign's grid: run indices derive from it
	Text  string  // canonical text, as --sweep-value takes it: 35ms, 7
	Num   float64 // µs for a duration, else the number
	raw   any     // what the fault decoder is given
}

type rawSweep struct {
	Fault     string `mapstructure:"fault"`
	Param     string `mapstructure:"param"`
	Values    []any  `mapstructure:"values"`
	From      any    `mapstructure:"from"`
	To        any    `mapstructure:"to"`
	Step      any    `mapstructure:"step"`
	Search    string `mapstructure:"search"`
	Confirm   *int   `mapstructure:"confirm"`
	MinMargin any    `mapstructure:"min_margin"`
}

// fillSweep validates the sweep section. Field paths are relative to it.
func (c *Campaign) fillSweep(m map[string]any) []error {
	var rs rawSweep
	if errs := faults.DecodeStrict(m, &rs); len(errs) > 0 {
		return errs
	}
	var errs []error
	fe := func(field, format string, a ...any) {
		errs = append(errs, &faults.FieldError{Field: field, Err: fmt.Errorf(format, a...)})
	}
	s := &Sweep{Fault: rs.Fault, Param: rs.Param, Search: rs.Search, fault: -1}
	names := make([]string, 0, len(c.Faults))
	for i, f := range c.Faults {
		names = append(names, f.Name)
		if f.Name == rs.Fault {
			s.fault = i
		}
	}
	switch {
	case rs.Fault == "":
		fe("fault", "required: the name of the fault to sweep (faults: %v)", names)
	case s.fault < 0:
		fe("fault", "no fault is named %q (faults: %v)", rs.Fault, names)
	}
	var typ reflect.Type
	if s.fault >= 0 {
		params, _ := faults.Params(c.Faults[s.fault].Kind)
		if rs.Param == "" {
			fe("param", "required: the parameter to vary (%s has: %v)", c.Faults[s.fault].Kind, slices.Sorted(maps.Keys(params)))
		} else if t, ok := params[rs.Param]; !ok {
			fe("param", "fault kind %s has no parameter %q (it has: %v)", c.Faults[s.fault].Kind, rs.Param, slices.Sorted(maps.Keys(params)))
		} else {
			typ = t
		}
	}
	switch rs.Search {
	case "", SearchBreakingPoint:
	default:
		fe("search", "unknown search %q (known: %s)", rs.Search, SearchBreakingPoint)
	}
	s.Confirm = DefaultConfirm
	if rs.Confirm != nil {
		s.Confirm = *rs.Confirm
		if s.Confirm < 1 {
			fe("confirm", "must be at least 1, got %d", s.Confirm)
		}
		if rs.Search == "" {
			fe("confirm", "only a search confirms values (set search: %s, or use repeat)", SearchBreakingPoint)
		}
	}
	s.PerValue = c.Repeat
	if rs.Search != "" {
		s.PerValue = s.Confirm
	}
	if typ == nil {
		return errs
	}
	dur := typ == reflect.TypeOf(time.Duration(0))
	switch {
	case dur:
		s.isTime = true
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64, typ.Kind() == reflect.Float64:
	default:
		fe("param", "%s is a %s: only durations and numbers can be swept", rs.Param, typ)
		return errs
	}
	parse := func(field string, x any) (SweepValue, bool) {
		v, err := sweepValue(x, typ)
		if err != nil {
			fe(field, "%v", err)
			return v, false
		}
		return v, true
	}
	hasRange := rs.From != nil || rs.To != nil || rs.Step != nil
	switch {
	case len(rs.Values) > 0 && hasRange:
		fe("", "give either values or from/to/step, not both")
	case len(rs.Values) > 0:
		for i, x := range rs.Values {
			if v, ok := parse(fmt.Sprintf("values[%d]", i), x); ok {
				s.Values = append(s.Values, v)
			}
		}
	case hasRange:
		if rs.From == nil || rs.To == nil || rs.Step == nil {
			fe("", "a range needs from, to and step")
			break
		}
		from, ok1 := parse("from", rs.From)
		to, ok2 := parse("to", rs.To)
		step, ok3 := parse("step", rs.Step)
		if !ok1 || !ok2 || !ok3 {
			break
		}
		if step.Num <= 0 {
			fe("step", "must be positive, got %s", step.Text)
			break
		}
		if to.Num < from.Num {
			fe("to", "%s is below from (%s)", to.Text, from.Text)
			break
		}
		n := int(math.Floor((to.Num-from.Num)/step.Num+1e-9)) + 1
		if n > maxSweepValues {
			fe("step", "%s from %s to %s makes %d values (at most %d)", step.Text, from.Text, to.Text, n, maxSweepValues)
			break
		}
		for k := 0; k < n; k++ {
			x := from.Num + float64(k)*step.Num
			v, _ := sweepValue(fromNum(x, typ), typ)
			s.Values = append(s.Values, v)
		}
	default:
		fe("", "needs values: a list (values: [...]) or a range (from, to, step)")
	}
	for i := range s.Values {
		s.Values[i].Index = i
	}
	if rs.Search != "" && len(s.Values) > 0 {
		for i := 1; i < len(s.Values); i++ {
			if s.Values[i].Num <= s.Values[i-1].Num {
				fe(fmt.Sprintf("values[%d]", i), "a search needs ascending values (%s after %s)", s.Values[i].Text, s.Values[i-1].Text)
				break
			}
		}
		if len(s.Values) < 2 {
			fe("values", "a search needs at least two values")
		}
	}
	if rs.MinMargin != nil {
		if v, ok := parse("min_margin", rs.MinMargin); ok {
			s.MinMargin = &v
		}
		if rs.Search == "" {
			fe("min_margin", "only a search finds a margin (set search: %s)", SearchBreakingPoint)
		}
	}
	// The nominal value: the fault's own, as decoded from the file.
	spec := &c.Faults[s.fault]
	if x, ok := spec.Params[rs.Param]; ok {
		if v, err := sweepValue(x, typ); err == nil {
			s.Nominal = v
		}
	} else {
		s.Nominal, _ = sweepValue(fromNum(0, typ), typ)
	}
	// Every value must make a valid fault.
	for i, v := range s.Values {
		if _, errs2 := s.apply(spec, v); len(errs2) > 0 {
			for _, e := range errs2 {
				fe(fmt.Sprintf("values[%d]", i), "%s = %s: %v", rs.Param, v.Text, e)
			}
			break
		}
	}
	c.Sweep = s
	return errs
}

func fromNum(x float64, typ reflect.Type) any {
	if typ == reflect.TypeOf(time.Duration(0)) {
		return time.Duration(math.Round(x * float64(time.Microsecond))).String()
	}
	if typ.Kind() == reflect.Float64 {
		return x
	}
	return int64(math.Round(x))
}

// sweepValue reads one value written in a campaign or on the command line.
func sweepValue(x any, typ reflect.Type) (SweepValue, error) {
	if typ == reflect.TypeOf(time.Duration(0)) {
		s, ok := x.(string)
		if !ok {
			return SweepValue{}, fmt.Errorf("%v has no unit (write e.g. \"%vms\")", x, x)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return SweepValue{}, fmt.Errorf("%q is not a duration such as 20ms", s)
		}
		return SweepValue{Text: d.String(), Num: float64(d) / float64(time.Microsecond), raw: d.String()}, nil
	}
	var f float64
	switch v := x.(type) {
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case float64:
		f = v
	case string:
		p, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return SweepValue{}, fmt.Errorf("%q is not a number", v)
		}
		f = p
	default:
		return SweepValue{}, fmt.Errorf("%v is not a number", x)
	}
	if typ.Kind() != reflect.Float64 {
		if f != math.Trunc(f) {
			return SweepValue{}, fmt.Errorf("%v is not a whole number", f)
		}
		return SweepValue{Text: strconv.FormatInt(int64(f), 10), Num: f, raw: int64(f)}, nil
	}
	return SweepValue{Text: strconv.FormatFloat(f, 'g', -1, 64), Num: f, raw: f}, nil
}

// apply returns the fault with the swept parameter set to v.
func (s *Sweep) apply(spec *FaultSpec, v SweepValue) (faults.Fault, []error) {
	params := make(map[string]any, len(spec.Params)+1)
	for k, x := range spec.Params {
		params[k] = x
	}
	params[s.Param] = v.raw
	return faults.Decode(spec.Kind, params)
}

// SelectSweepValue narrows the sweep to one value, given as text (35ms, 7):
// the campaign then plans only that value's runs, with the run indices and
// seeds they have in the full sweep when the value is on its grid. This is
// how one run of a sweep is reproduced.
func (c *Campaign) SelectSweepValue(text string) error {
	s := c.Sweep
	if s == nil {
		return fmt.Errorf("--sweep-value %s: the campaign has no sweep", text)
	}
	var typ reflect.Type = reflect.TypeOf(0.0)
	if s.isTime {
		typ = reflect.TypeOf(time.Duration(0))
	} else if s.Nominal.raw != nil {
		if _, isInt := s.Nominal.raw.(int64); isInt {
			typ = reflect.TypeOf(int64(0))
		}
	}
	v, err := sweepValue(text, typ)
	if err != nil {
		return fmt.Errorf("--sweep-value: %v", err)
	}
	v.Index = len(s.Values)
	for _, g := range s.Values {
		if g.Num == v.Num {
			v.Index = g.Index
		}
	}
	if _, errs := s.apply(&c.Faults[s.fault], v); len(errs) > 0 {
		return fmt.Errorf("--sweep-value %s: %v", text, errors.Join(errs...))
	}
	cp := *s
	cp.Values = []SweepValue{v}
	cp.Search = ""
	cp.MinMargin = nil
	c.Sweep = &cp
	return nil
}

// Runs is the number of runs the campaign plans (for a search: the most
// it may need).
func (c *Campaign) Runs() int {
	s := c.Sweep
	switch {
	case s == nil:
		return c.Repeat
	case s.Search == SearchBreakingPoint:
		probes := 2 + bits.Len(uint(max(len(s.Values)-2, 0)))
		return probes * s.PerValue
	default:
		return len(s.Values) * s.PerValue
	}
}

// at returns the campaign with the sweep value v applied to its fault.
func (c *Campaign) at(v SweepValue) *Campaign {
	s := c.Sweep
	cp := *c
	cp.Faults = append([]FaultSpec(nil), c.Faults...)
	f, _ := s.apply(&c.Faults[s.fault], v) // validated when the campaign was loaded
	cp.Faults[s.fault].Fault = f
	return &cp
}

// planSweep plans run r of sweep value v.
func planSweep(c *Campaign, v SweepValue, r int) RunPlan {
	s := c.Sweep
	rp := PlanRun(c.at(v), r)
	rp.Index = v.Index*s.PerValue + r
	rp.Sweep = &SweepPoint{Fault: s.Fault, Param: s.Param, Value: v.Text, Run: r}
	return rp
}

// broke reports whether a run shows the board breaking: a failed check or
// any reset.
func broke(r *RunRecord) bool { return r.Verdict == Fail || r.Resets.Total() > 0 }

// searchBreakingPoint bisects the sweep's grid for the smallest value at
// which at least one of Confirm runs breaks, assuming that once a value
// breaks the board every larger one does too.
func searchBreakingPoint(ctx context.Context, c *Campaign, opt Options, sum *Summary) error {
	s := c.Sweep
	res := &SweepResult{Fault: s.Fault, Param: s.Param, Search: s.Search, Nominal: s.Nominal.Text}
	sum.Sweep = res
	defer func() { sortPoints(res.Points, s) }()
	total := c.Runs()
	tried := map[int]bool{}
	probe := func(i int) (bool, error) {
		v := s.Values[i]
		ps := PointStats{Value: v.Text}
		for r := 0; r < s.PerValue; r++ {
			if opt.stopped() {
				return false, ErrInterrupted
			}
			rec, err := opt.one(ctx, c, planSweep(c, v, r))
			if rec != nil {
				sum.Runs = append(sum.Runs, *rec)
				if opt.Progress != nil {
					opt.Progress(len(sum.Runs), total, rec)
				}
				ps.Runs++
				ps.Resets += rec.Resets.Total()
				if broke(rec) {
					ps.Failed++
				}
			}
			if err != nil {
				return false, err
			}
		}
		ps.Broke = ps.Failed > 0
		tried[i] = true
		res.Points = append(res.Points, ps)
		return ps.Broke, nil
	}
	lo, hi := 0, len(s.Values)-1
	b, err := probe(lo)
	if err != nil {
		return err
	}
	if b {
		res.Breaking = s.Values[lo].Text
		res.Note = "the smallest value already breaks the board: widen the range downwards"
		setMargin(res, s, s.Values[lo], false)
		return nil
	}
	b, err = probe(hi)
	if err != nil {
		return err
	}
	if !b {
		res.LastSafe = s.Values[hi].Text
		res.Note = "no value in the range breaks the board: the margin is at least the range's top minus nominal"
		setMargin(res, s, s.Values[hi], true)
		return nil
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		b, err := probe(mid)
		if err != nil {
			return err
		}
		if b {
			hi = mid
		} else {
			lo = mid
		}
	}
	res.Breaking, res.LastSafe = s.Values[hi].Text, s.Values[lo].Text
	setMargin(res, s, s.Values[hi], false)
	return nil
}

func setMargin(res *SweepResult, s *Sweep, v SweepValue, bound bool) {
	res.MarginNum, res.MarginBound = v.Num-s.Nominal.Num, bound
	if s.isTime {
		res.Margin = (time.Duration(math.Round(res.MarginNum)) * time.Microsecond).String()
	} else {
		res.Margin = strconv.FormatFloat(res.MarginNum, 'g', -1, 64)
	}
	if bound {
		res.Margin = ">= " + res.Margin
	}
}

func sortPoints(ps []PointStats, s *Sweep) {
	pos := map[string]int{}
	for _, v := range s.Values {
		pos[v.Text] = v.Index
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && pos[ps[j].Value] < pos[ps[j-1].Value]; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// sweepPoints summarises a plain sweep's runs per value.
func sweepPoints(c *Campaign, runs []RunRecord) *SweepResult {
	s := c.Sweep
	res := &SweepResult{Fault: s.Fault, Param: s.Param, Nominal: s.Nominal.Text}
	idx := map[string]int{}
	for _, v := range s.Values {
		idx[v.Text] = len(res.Points)
		res.Points = append(res.Points, PointStats{Value: v.Text})
	}
	for i := range runs {
		r := &runs[i]
		if r.Sweep == nil {
			continue
		}
		k, ok := idx[r.Sweep.Value]
		if !ok {
			continue
		}
		p := &res.Points[k]
		p.Runs++
		p.Resets += r.Resets.Total()
		if broke(r) {
			p.Failed++
			p.Broke = true
		}
	}
	return res
}

// searchVerdict fails a breaking-point search whose board breaks at or
// below the campaign's own value: a margin that is negative (or, broken
// already at the bottom of the range, not shown to be positive) is no
// margin at all.
func searchVerdict(s *Sweep, sum *Summary) {
	res := sum.Sweep
	if res == nil || res.Breaking == "" || sum.Verdict != Pass {
		return
	}
	atBottom := res.LastSafe == ""
	switch {
	case res.MarginNum < 0:
		sum.Verdict = Fail
		res.Note = fmt.Sprintf("the board breaks at %s = %s, below the campaign's own %s: margin %s", s.Param, res.Breaking, s.Nominal.Text, res.Margin)
	case atBottom && res.MarginNum <= 0:
		sum.Verdict = Fail
		res.Note = fmt.Sprintf("the board breaks at the bottom of the range (%s = %s), at or below the campaign's own %s: no margin", s.Param, res.Breaking, s.Nominal.Text)
	case atBottom && s.MinMargin != nil && res.MarginNum < s.MinMargin.Num:
		sum.Verdict = Fail
		res.Note = fmt.Sprintf("the board breaks at the bottom of the range (%s = %s): the margin is at most %s, below the required %s", s.Param, res.Breaking, res.Margin, s.MinMargin.Text)
	}
}
