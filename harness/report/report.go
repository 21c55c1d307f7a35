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

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// Load reads a results directory into the campaign summary (host facts
// kept), with the warnings of record.ReadRuns.
func Load(dir string) (*record.Summary, []error, error) {
	recs, warns, err := record.ReadRuns(dir)
	if err != nil {
		return nil, warns, err
	}
	if len(recs) == 0 {
		return nil, warns, fmt.Errorf("%s: no run records", dir)
	}
	first := recs[0]
	sum := &record.Summary{Campaign: first.Campaign, CampaignHash: first.CampaignHash, Target: first.Target,
		Reference: first.Reference, Seed: first.CampaignSeed, Runs: recs}
	record.Summarize(sum)
	return sum, warns, nil
}

// WriteJSON writes the document `hilchaos run --format json` prints: the
// summary without the host facts.
func WriteJSON(w io.Writer, sum *record.Summary) error {
	doc := *sum
	doc.Runs = make([]record.RunRecord, len(sum.Runs))
	for i, r := range sum.Runs {
		r.Host = nil
		doc.Runs[i] = r
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&doc)
}

// NewTable is a plain-ASCII table that reads the same in a terminal and a
// CI log; every table hilchaos prints is one.
func NewTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
	)
}

// WriteTable prints what a person reads first after a campaign: a row per
// run (resets by kind, inversions, the key task's figures, score, verdict),
// a row per task (worst over the runs), then for each run that did not pass
// why, in board time, and - when reproduce is given - the one command line
// that replays it; last a summary line.
func WriteTable(w io.Writer, sum *record.Summary, reproduce func(*record.RunRecord) string) {
	key := keyTask(sum)
	fmt.Fprintf(w, "campaign %s  target %s  reference %s  seed %d\n\n", sum.Campaign, sum.Target, sum.Reference, sum.Seed)
	t := NewTable(w)
	t.Header("run", "seed", "resets", "inversions", key+" max ms", key+" p99 ms", key+" misses", "outside model", "score", "verdict")
	for i := range sum.Runs {
		r := &sum.Runs[i]
		k := r.Tasks[key]
		t.Append(fmt.Sprint(r.Index), fmt.Sprint(r.Seed), resetText(r), fmt.Sprint(r.Inversions),
			ms(k.MaxResponseUS), ms(k.P99ResponseUS), fmt.Sprint(k.DeadlineMisses), fmt.Sprint(len(r.Findings)),
			fmt.Sprintf("%.1f", r.Score), strings.ToUpper(r.Verdict))
	}
	t.Render()

	// Every task, worst over the runs.
	type agg struct {
		jobs, misses uint64
		max, p99     int64
	}
	tasks := map[string]*agg{}
	for _, r := range sum.Runs {
		for name, tr := range r.Tasks {
			a := tasks[name]
			if a == nil {
				a = &agg{}
				tasks[name] = a
			}
			a.jobs += tr.Jobs
			a.misses += tr.DeadlineMisses
			a.max = max(a.max, tr.MaxResponseUS)
			a.p99 = max(a.p99, tr.P99ResponseUS)
		}
	}
	names := make([]string, 0, len(tasks))
	for n := range tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w)
	tt := NewTable(w)
	tt.Header("task", "jobs", "worst ms", "worst p99 ms", "deadline misses")
	for _, n := range names {
		a := tasks[n]
		tt.Append(n, fmt.Sprint(a.jobs), ms(a.max), ms(a.p99), fmt.Sprint(a.misses))
	}
	tt.Render()

	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Verdict == record.Pass {
			continue
		}
		fmt.Fprintf(w, "\nrun %d %s:\n", r.Index, r.Verdict)
		if r.Error != "" {
			fmt.Fprintf(w, "  rig error: %s\n", r.Error)
		}
		if failed := record.FailedChecks(r.Checks); len(failed) > 0 {
			fmt.Fprintf(w, "  checks failed: %s\n", strings.Join(failed, "; "))
		}
		for j, line := range Happenings(r) {
			if j == 2 {
				break // the first inversion and the first reset; the HTML report has the rest
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
		if reproduce != nil {
			fmt.Fprintf(w, "  reproduce: %s\n", reproduce(r))
		}
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d errors; score %.1f/100\n",
		strings.ToUpper(sum.Verdict), sum.Passed, sum.Failed, sum.Errors, sum.Score)
}

// keyTask is the task the runs table shows: the first one a check names,
// else the first in name order.
func keyTask(sum *record.Summary) string {
	for _, r := range sum.Runs {
		for _, ch := range r.Checks {
			c, err := record.ParseCheck(ch.Expr, nil)
			if err != nil {
				continue
			}
			if task, _, ok := strings.Cut(c.Metric, "."); ok && task != "resets" && task != "telemetry" {
				if _, known := r.Tasks[task]; known {
					return task
				}
			}
		}
	}
	for _, r := range sum.Runs {
		if names := sortedTasks(&r); len(names) > 0 {
			return names[0]
		}
	}
	return ""
}

func ms(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) }

func resetText(r *record.RunRecord) string {
	if r.Resets.Total() == 0 {
		return "0"
	}
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{{r.Resets.Watchdog, "watchdog"}, {r.Resets.Hang, "hang"}, {r.Resets.Software, "software"},
		{r.Resets.PowerOn, "power-on"}, {r.Resets.Unknown, "unknown"}, {r.Resets.Expected, "expected"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	return strings.Join(parts, ", ")
}

func lost(r *record.RunRecord) float64 {
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
func Story(r *record.RunRecord) []string {
	var out []string
	if r.Error != "" {
		out = append(out, "rig error: "+r.Error)
	}
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, fmt.Sprintf("check failed: %s (observed %s)", c.Expr, c.Format(c.Value)))
		}
	}
	out = append(out, Happenings(r)...)
	for _, d := range r.Deductions {
		out = append(out, fmt.Sprintf("-%g %s: reference %g, observed %g (%s)", d.Points, d.Metric, d.Reference, d.Observed, d.Rule))
	}
	return out
}

// Happenings are the events of a run that explain a failure.
func Happenings(r *record.RunRecord) []string {
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
func boxBefore(box []record.BoxEvent) string {
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

func boxText(b record.BoxEvent) string {
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

func sortedTasks(r *record.RunRecord) []string {
	names := make([]string, 0, len(r.Tasks))
	for n := range r.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
