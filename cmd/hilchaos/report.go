package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/report"
)

// writeSweep prints what a sweep learned: each value tried and, for a
// breaking-point search, the breaking value and the margin.
func writeSweep(w io.Writer, sum *harness.Summary) {
	s := sum.Sweep
	if s == nil || len(s.Points) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsweep %s.%s (nominal %s)\n", s.Fault, s.Param, s.Nominal)
	t := report.NewTable(w)
	t.Header(s.Fault+"."+s.Param, "runs", "broke", "resets", "")
	points := append([]record.PointStats(nil), s.Points...)
	sort.SliceStable(points, func(i, j int) bool { return report.ValueNum(points[i].Value) < report.ValueNum(points[j].Value) })
	for _, p := range points {
		mark := "holds"
		if p.Broke {
			mark = "BREAKS"
		}
		t.Append(p.Value, fmt.Sprint(p.Runs), fmt.Sprint(p.Failed), fmt.Sprint(p.Resets), mark)
	}
	t.Render()
	if s.Search != "" {
		switch {
		case s.Breaking != "" && s.LastSafe != "":
			fmt.Fprintf(w, "breaking point: %s = %s (holds at %s); margin %s above nominal %s\n", s.Param, s.Breaking, s.LastSafe, s.Margin, s.Nominal)
		case s.Breaking != "":
			fmt.Fprintf(w, "breaking point: %s = %s or less; margin %s from nominal %s\n", s.Param, s.Breaking, s.Margin, s.Nominal)
		default:
			fmt.Fprintf(w, "no breaking point up to %s = %s; margin %s above nominal %s\n", s.Param, s.LastSafe, s.Margin, s.Nominal)
		}
	}
	if s.Note != "" {
		fmt.Fprintf(w, "note: %s\n", s.Note)
	}
}

func joinInts(xs []int) string {
	if len(xs) == 0 {
		return "-"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}
