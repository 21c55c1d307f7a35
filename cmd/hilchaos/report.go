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

// writeRequirements prints each requirement with its verdict and evidence.
func writeRequirements(w io.Writer, c *harness.Campaign, sum *harness.Summary) {
	if len(sum.Requirements) == 0 {
		return
	}
	fmt.Fprintf(w, "\nrequirements (campaign %s", sum.Campaign)
	if c.Version != "" {
		fmt.Fprintf(w, " version %s", c.Version)
	}
	fmt.Fprintf(w, ", %s)\n", sum.CampaignHash)
	if len(sum.Runs) > 0 {
		fw := sum.Runs[0].Firmware
		fmt.Fprintf(w, "firmware %s %s (build %s) on %s, harness %s\n", fw.Name, fw.Version, fw.Build, sum.Target, harness.Version)
	}
	t := report.NewTable(w)
	t.Header("requirement", "verdict", "check", "runs passed", "worst observed", "failed runs")
	for _, r := range sum.Requirements {
		for i, e := range r.Evidence {
			id, verdict := r.ID, strings.ToUpper(r.Verdict)
			if i > 0 {
				id, verdict = "", ""
			}
			worst := e.WorstText
			if e.WorstRun >= 0 {
				worst += fmt.Sprintf(" (run %d)", e.WorstRun)
			}
			t.Append(id, verdict, e.Check, fmt.Sprintf("%d/%d", e.Runs-e.Failed, e.Runs), worst, joinInts(e.FailedRuns))
		}
	}
	t.Render()
	for _, r := range sum.Requirements {
		if r.Text != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Text)
		}
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
