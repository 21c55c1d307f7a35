// Package report derives every report from a results directory: the run
// records in runs.jsonl and the stored wire streams beside them. It writes
// a terminal table, the JSON document `hilchaos run --format json` prints,
// JUnit XML for CI, one self-contained HTML file with a timeline of each
// failing run, and a Perfetto (Chrome trace-event) JSON file.
//
// Every time in a report is board time: µs of run time in the data,
// "t=1.234 s" (seconds since the run's start) for a person.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/analyze"
)

// Load reads a results directory into the campaign summary (host facts
// kept), with the warnings of harness.ReadRuns.
func Load(dir string) (*harness.Summary, []error, error) {
	recs, warns, err := harness.ReadRuns(dir)
	if err != nil {
		return nil, warns, err
	}
	if len(recs) == 0 {
		return nil, warns, fmt.Errorf("%s: no run records", dir)
	}
	first := recs[0]
	sum := &harness.Summary{Campaign: first.Campaign, CampaignHash: first.CampaignHash, Target: first.Target,
		Reference: first.Reference, Seed: first.CampaignSeed, Runs: recs}
	harness.Summarize(sum)
	return sum, warns, nil
}

// WriteJSON writes the document `hilchaos run --format json` prints: the
// summary without the host facts.
func WriteJSON(w io.Writer, sum *harness.Summary) error {
	doc := *sum
	doc.Runs = make([]harness.RunRecord, len(sum.Runs))
	for i, r := range sum.Runs {
		r.Host = nil
		doc.Runs[i] = r
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&doc)
}

func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
	)
}

// WriteTable prints the runs, then for each run that did not pass what
// happened, with board times.
func WriteTable(w io.Writer, sum *harness.Summary) {
	fmt.Fprintf(w, "campaign %s  target %s  reference %s\n\n", sum.Campaign, sum.Target, sum.Reference)
	t := newTable(w)
	t.Header("run", "seed", "resets", "inversions", "outside model", "deductions", "score", "verdict")
	for i := range sum.Runs {
		r := &sum.Runs[i]
		t.Append(fmt.Sprint(r.Index), fmt.Sprint(r.Seed), fmt.Sprint(r.Resets.Total()), fmt.Sprint(r.Inversions),
			fmt.Sprint(len(r.Findings)), fmt.Sprintf("-%g", lost(r)), fmt.Sprintf("%.1f", r.Score), strings.ToUpper(r.Verdict))
	}
	t.Render()
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Verdict == harness.Pass {
			continue
		}
		fmt.Fprintf(w, "\nrun %d %s:\n", r.Index, r.Verdict)
		for _, line := range Story(r) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d errors; score %.1f/100\n",
		strings.ToUpper(sum.Verdict), sum.Passed, sum.Failed, sum.Errors, sum.Score)
}

func lost(r *harness.RunRecord) float64 {
	var p float64
	for _, d := range r.Deductions {
		p += d.Points
	}
	return p
}

// At formats a run time for a person.
func At(us int64) string { return fmt.Sprintf("t=%.3f s", float64(us)/1e6) }

// Dur formats a duration in µs for a person.
func Dur(us int64) string {
	switch {
	case us < 0:
		return "none"
	case us >= 1_000_000:
		return fmt.Sprintf("%.3f s", float64(us)/1e6)
	case us >= 1000:
		return fmt.Sprintf("%.1f ms", float64(us)/1000)
	}
	return fmt.Sprintf("%d µs", us)
}

// Story says what happened in a run, first things first, in board time:
// the failed checks, the first inversion, resets with what the black box
// held, findings outside the declared model, the deductions.
func Story(r *harness.RunRecord) []string {
	var out []string
	if r.Error != "" {
		out = append(out, "rig error: "+r.Error)
	}
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, fmt.Sprintf("check failed: %s (observed %g)", c.Expr, c.Value))
		}
	}
	out = append(out, Happenings(r)...)
	for _, d := range r.Deductions {
		out = append(out, fmt.Sprintf("-%g %s: reference %g, observed %g (%s)", d.Points, d.Metric, d.Reference, d.Observed, d.Rule))
	}
	return out
}

// Happenings are the events of a run that explain a failure.
func Happenings(r *harness.RunRecord) []string {
	var out []string
	if len(r.InversionLog) > 0 {
		e := r.InversionLog[0]
		out = append(out, fmt.Sprintf("%d priority-inversion episode(s); the first at %s: %s", r.Inversions, At(e.StartUS), EpisodeText(e)))
	}
	for i, rs := range r.ResetLog {
		if i == 3 {
			out = append(out, fmt.Sprintf("... %d resets in all", len(r.ResetLog)))
			break
		}
		s := fmt.Sprintf("%s reset at %s", rs.Kind, At(rs.AtUS))
		if rs.Reason != "" {
			s += " (BOOT reason " + rs.Reason + ")"
		}
		if rs.RecoveryUS >= 0 {
			s += fmt.Sprintf(", recovered in %s", Dur(rs.RecoveryUS))
		}
		if last := boxBefore(rs.BlackBox); last != "" {
			s += "; black box: " + last
		}
		out = append(out, s)
	}
	for _, f := range r.Findings {
		out = append(out, "outside the declared model: "+f.Message)
	}
	return out
}

// EpisodeText describes one inversion episode.
func EpisodeText(e analyze.Episode) string {
	return fmt.Sprintf("%s waited %s for %s held by %s while %s (and other medium-priority work) ran %s",
		e.High, Dur(e.LengthUS), e.Lock, e.Low, e.Medium, Dur(e.MediumUS))
}

// boxBefore summarises the last events of a black box before the reset.
func boxBefore(box []harness.BoxEvent) string {
	// The telling events first: misses, locks, faults, the expiry.
	var parts []string
	for i := len(box) - 1; i >= 0 && len(parts) < 4; i-- {
		switch box[i].Kind {
		case "DM", "WX", "BL", "LK", "UL", "FB", "FE":
			parts = append(parts, boxText(box[i]))
		}
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ", ")
}

var kindNames = map[string]string{
	"RL": "released", "ST": "started", "EN": "ended", "BL": "blocked on", "LK": "locked", "UL": "unlocked",
	"CS": "switched in", "DM": "missed its deadline", "WK": "kicked the watchdog", "WX": "watchdog expired",
	"FB": "fault began", "FE": "fault ended", "DR": "dropped events", "PR": "priority now", "GO": "run started",
}

func boxText(b harness.BoxEvent) string {
	what := kindNames[b.Kind]
	if what == "" {
		what = b.Kind
	}
	s := strings.TrimSpace(b.Task + " " + what)
	if b.Lock != "" {
		s += " " + b.Lock
	}
	return s + " at " + At(b.AtUS)
}

func sortedTasks(r *harness.RunRecord) []string {
	names := make([]string, 0, len(r.Tasks))
	for n := range r.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
