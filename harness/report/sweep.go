package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/hilchaos/hilchaos/harness/record"
)

// SweepFromRecords rebuilds what a sweep (or a breaking-point search) found
// from its records and the sweep its plan names: each value tried, in
// ascending order, and for a search the breaking value, the last value
// that held and the margin over the nominal value. A value breaks the
// board when one of its runs failed or reset.
func SweepFromRecords(ps *record.PlanSweep, search string, recs []record.RunRecord) *record.SweepResult {
	res := &record.SweepResult{Fault: ps.Fault, Param: ps.Param, Search: search, Nominal: ps.Nominal}
	at := map[string]int{}
	for i := range recs {
		r := &recs[i]
		if r.Sweep == nil {
			continue
		}
		k, ok := at[r.Sweep.Value]
		if !ok {
			k = len(res.Points)
			at[r.Sweep.Value] = k
			res.Points = append(res.Points, record.PointStats{Value: r.Sweep.Value})
		}
		p := &res.Points[k]
		p.Runs++
		p.Resets += r.Resets.Total()
		if r.Verdict == record.Fail || r.Resets.Total() > 0 {
			p.Failed++
			p.Broke = true
		}
	}
	sort.SliceStable(res.Points, func(i, j int) bool { return ValueNum(res.Points[i].Value) < ValueNum(res.Points[j].Value) })
	if search == "" || len(res.Points) == 0 {
		return res
	}
	num := func(v string) float64 { // in the plan's unit: µs for durations
		if ps.IsTime {
			return ValueNum(v) / float64(time.Microsecond)
		}
		return ValueNum(v)
	}
	for i, p := range res.Points {
		if p.Broke {
			res.Breaking = p.Value
			if i > 0 {
				res.LastSafe = res.Points[i-1].Value
			}
			res.MarginNum = num(p.Value) - ps.NominalNum
			break
		}
	}
	if res.Breaking == "" {
		top := res.Points[len(res.Points)-1].Value
		res.LastSafe, res.MarginNum, res.MarginBound = top, num(top)-ps.NominalNum, true
	}
	if ps.IsTime {
		res.Margin = (time.Duration(math.Round(res.MarginNum)) * time.Microsecond).String()
	} else {
		res.Margin = strconv.FormatFloat(res.MarginNum, 'g', -1, 64)
	}
	if res.MarginBound {
		res.Margin = ">= " + res.Margin
	}
	return res
}

// SearchVerdict judges a breaking-point search read back from its records:
// runs that break are what a search looks for, so they fail nothing; the
// search fails when the board breaks at or below nominal, or when the
// margin is below the plan's min_margin.
func SearchVerdict(sum *record.Summary, ps *record.PlanSweep) {
	res := sum.Sweep
	if res == nil || sum.Verdict != record.Fail {
		return // errors, inconclusive and interrupted sets keep their verdict
	}
	for _, r := range sum.Runs {
		if r.Verdict != record.Pass && r.Verdict != record.Fail {
			return
		}
	}
	sum.Verdict = record.Pass
	atBottom := res.Breaking != "" && res.LastSafe == ""
	switch {
	case res.Breaking != "" && res.MarginNum < 0:
		sum.Verdict = record.Fail
		res.Note = fmt.Sprintf("the board breaks at %s = %s, below the campaign's own %s: margin %s", ps.Param, res.Breaking, ps.Nominal, res.Margin)
	case atBottom && res.MarginNum <= 0:
		sum.Verdict = record.Fail
		res.Note = fmt.Sprintf("the board breaks at the bottom of the range (%s = %s), at or below the campaign's own %s: no margin", ps.Param, res.Breaking, ps.Nominal)
	case ps.MinMarginNum != nil && res.Breaking != "" && res.MarginNum < *ps.MinMarginNum:
		sum.Verdict = record.Fail
		res.Note = fmt.Sprintf("margin %s is below the required %s", res.Margin, ps.MinMargin)
	}
}
