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
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/score"
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
	if err := samePlan(dir, recs); err != nil {
		return nil, warns, err
	}
	recs = latest(recs)
	first := recs[0]
	sum := &record.Summary{Campaign: first.Campaign, CampaignHash: first.CampaignHash, Target: first.Target,
		Reference: first.Reference, Seed: first.CampaignSeed, Runs: recs}
	record.Summarize(sum)
	plan, ok, err := record.ReadPlan(dir)
	if err != nil {
		return nil, warns, err
	}
	if ok {
		if f, here, there := plan.Differs(record.PlanOf(&first)); f != "" {
			return nil, warns, &MixedError{Dir: dir, Field: f, First: there, Next: here, Line: 1, AgainstPlan: true}
		}
		sum.Planned = plan.Runs
		sum.CampaignVersion = plan.CampaignVersion
		sum.Requirements = score.Requirements(record.ChecksOf(&first), plan.Requirements, recs)
		if plan.Sweep != nil {
			sum.Sweep = SweepFromRecords(plan.Sweep, plan.Search, recs)
			if plan.Search != "" {
				SearchVerdict(sum, plan.Sweep)
			}
		}
	}
	for _, r := range recs {
		if r.Verdict == record.Interrupted {
			sum.Interrupted = true
		}
	}
	if sum.Interrupted {
		sum.Verdict = record.Interrupted
	}
	record.Qualify(sum)
	return sum, warns, nil
}

// MixedError is a results directory holding runs of more than one plan
// (campaign content, seed, target or board duration): no one verdict
// covers them.
type MixedError struct {
	Dir         string
	Field       string
	First, Next string // the first record's value and the first that differs
	Line        int    // the record (1-based) that differs
	AgainstPlan bool   // First is plan.json's value, not a record's
}

func (e *MixedError) Error() string {
	first := "record 1"
	if e.AgainstPlan {
		first = record.PlanFile
	}
	return fmt.Sprintf("%s mixes runs of different plans: %s has %s %s, record %d has %s %s; report on one plan at a time",
		e.Dir, first, e.Field, e.First, e.Line, e.Field, e.Next)
}

// latest keeps, of records with the same run key, the last one: a run cut
// short or failed by the rig and run again on --resume is reported once,
// as it ended the second time.
func latest(recs []record.RunRecord) []record.RunRecord {
	last := map[record.RunKey]int{}
	for i := range recs {
		last[recs[i].Key()] = i
	}
	out := recs[:0:0]
	for i := range recs {
		if last[recs[i].Key()] == i {
			out = append(out, recs[i])
		}
	}
	return out
}

// samePlan refuses a set of records that are not all of one plan.
func samePlan(dir string, recs []record.RunRecord) error {
	first := record.PlanOf(&recs[0])
	for i := range recs[1:] {
		if f, a, b := first.Differs(record.PlanOf(&recs[i+1])); f != "" {
			return &MixedError{Dir: dir, Field: f, First: a, Next: b, Line: i + 2}
		}
	}
	return nil
}

// Missing lists the run indices a plain (not sweeping) result set lacks,
// given how many runs its plan has.
func Missing(sum *record.Summary) []int {
	if sum.Planned == 0 || len(sum.Runs) >= sum.Planned {
		return nil
	}
	have := map[int]bool{}
	for _, r := range sum.Runs {
		if r.Sweep != nil {
			return nil
		}
		if r.Verdict != record.Interrupted {
			have[r.Index] = true
		}
	}
	var out []int
	for i := 0; i < sum.Planned; i++ {
		if !have[i] {
			out = append(out, i)
		}
	}
	return out
}

// SummaryLine is the last line of every table. It never says PASS over a
// set that is not whole: an interrupted campaign, a partial directory and
// a breaking-point search each say what they are.
func SummaryLine(sum *record.Summary) string {
	interrupted := 0
	for _, r := range sum.Runs {
		if r.Verdict == record.Interrupted {
			interrupted++
		}
	}
	complete := len(sum.Runs) - interrupted
	counts := fmt.Sprintf("%d passed, %d failed, %d errors", sum.Passed, sum.Failed, sum.Errors-interrupted)
	if sum.Inconclusive > 0 {
		counts += fmt.Sprintf(", %d inconclusive", sum.Inconclusive)
	}
	if interrupted > 0 {
		counts += fmt.Sprintf(", %d cut short", interrupted)
	}
	score := fmt.Sprintf("score %.1f/100", sum.Score)
	if sum.Reference == record.ReferenceNone {
		score = "no score (reference: none: checks only)"
	}
	if s := sum.Sweep; s != nil && s.Search != "" {
		verdict := strings.ToUpper(sum.Verdict)
		if sum.Interrupted {
			verdict = "INTERRUPTED"
		}
		if s.Fault == "" {
			// Read back from a directory: the search's findings are in
			// the output of the run that made it.
			return fmt.Sprintf("SEARCH (%s): %d runs, %s (runs that break the board are what a search looks for); %s", s.Search, len(sum.Runs), counts, score)
		}
		found := "no breaking point in the range"
		if s.Breaking != "" {
			found = fmt.Sprintf("breaking point %s = %s", s.Param, s.Breaking)
		}
		return fmt.Sprintf("%s: %s search over %s.%s, %d runs: %s, margin %s (nominal %s)",
			verdict, s.Search, s.Fault, s.Param, len(sum.Runs), found, s.Margin, s.Nominal)
	}
	if sum.Interrupted {
		planned := ""
		if sum.Planned > 0 {
			planned = fmt.Sprintf(" of %d", sum.Planned)
		}
		return fmt.Sprintf("INTERRUPTED: %d%s runs, %s; %s", complete, planned, counts, score)
	}
	if sum.Planned > 0 && len(sum.Runs) < sum.Planned {
		missing := ""
		if m := Missing(sum); len(m) > 0 {
			missing = ", missing runs " + Ranges(m)
		}
		return fmt.Sprintf("PARTIAL (%s so far): %d of %d runs%s; %s; %s", strings.ToUpper(sum.Verdict), len(sum.Runs), sum.Planned, missing, counts, score)
	}
	return fmt.Sprintf("%s: %s; %s", strings.ToUpper(sum.Verdict), counts, score)
}

// Ranges writes sorted integers compactly: 3, 8-11, 15.
func Ranges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", xs[i], xs[j]))
		} else {
			parts = append(parts, fmt.Sprint(xs[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
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
	fmt.Fprintf(w, "campaign %s  target %s  reference %s  seed %d\n%s\n\n", sum.Campaign, sum.Target, sum.Reference, sum.Seed, Evidence(sum))
	t := NewTable(w)
	order, param := byValue(sum.Runs)
	head := []any{"run", "seed", "resets", "inversions", key + " max ms", key + " p99 ms", key + " misses", "outside model", "points lost", "score", "verdict"}
	if param != "" {
		head = append([]any{param}, head...)
	}
	t.Header(head...)
	for _, i := range order {
		r := &sum.Runs[i]
		k := r.Tasks[key]
		row := []any{fmt.Sprint(r.Index), fmt.Sprint(r.Seed), resetText(r), fmt.Sprint(r.Inversions),
			ms(k.MaxResponseUS), ms(k.P99ResponseUS), fmt.Sprint(k.DeadlineMisses), fmt.Sprint(len(r.Findings)),
			lostText(r), scoreText(r), strings.ToUpper(r.Verdict)}
		if param != "" {
			row = append([]any{r.Sweep.Value}, row...)
		}
		t.Append(row...)
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
	writeTelemetry(w, sum)

	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Verdict == record.Pass {
			continue
		}
		fmt.Fprintf(w, "\nrun %d %s:\n", r.Index, r.Verdict)
		if r.Error != "" {
			fmt.Fprintf(w, "  rig error: %s\n", r.Error)
		}
		if r.Verdict == record.Inconclusive && r.Evidence != nil {
			fmt.Fprintf(w, "  no verdict without evidence: %s\n", strings.Join(r.Evidence.Missing, "; "))
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
		writeConsoleTail(w, r)
		if reproduce != nil {
			fmt.Fprintf(w, "  reproduce: %s\n", reproduce(r))
		}
	}
	writeDeductions(w, sum)
	fmt.Fprintf(w, "\n%s\n", SummaryLine(sum))
}

// scoreText is a run's score for the table: "-" when nothing scored it.
func scoreText(r *record.RunRecord) string {
	if r.Reference == record.ReferenceNone {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.Score)
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
	if r.Resets.Total() == 0 && r.Resets.PowerCycle == 0 {
		return "0"
	}
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{{r.Resets.Watchdog, "watchdog"}, {r.Resets.Hang, "hang"}, {r.Resets.Software, "software"},
		{r.Resets.PowerOn, "power-on"}, {r.Resets.Unknown, "unknown"}, {r.Resets.Expected, "expected"},
		{r.Resets.PowerCycle, "host power cycle"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	return strings.Join(parts, ", ")
}

// lostText is the points a run lost against the reference, "-" when
// nothing scored it.
func lostText(r *record.RunRecord) string {
	if r.Reference == record.ReferenceNone {
		return "-"
	}
	return strconv.FormatFloat(lost(r), 'f', -1, 64)
}

// byValue orders the runs of a sweep by the swept value (then run index)
// and names the parameter; other sets keep their order and get "".
func byValue(runs []record.RunRecord) ([]int, string) {
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	param := ""
	for _, r := range runs {
		if r.Sweep == nil {
			return order, ""
		}
		param = r.Sweep.Fault + "." + r.Sweep.Param
	}
	num := func(i int) float64 { return ValueNum(runs[i].Sweep.Value) }
	sort.SliceStable(order, func(a, b int) bool {
		na, nb := num(order[a]), num(order[b])
		if na != nb {
			return na < nb
		}
		return runs[order[a]].Index < runs[order[b]].Index
	})
	return order, param
}

// ValueNum reads a sweep value (20ms, 7, 0.5) as a number to order by.
func ValueNum(v string) float64 {
	if d, err := time.ParseDuration(v); err == nil {
		return float64(d)
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// writeDeductions lists every point each run lost, with the rule: a score
// is worth only what explains it.
func writeDeductions(w io.Writer, sum *record.Summary) {
	any := false
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if len(r.Deductions) == 0 {
			continue
		}
		if !any {
			fmt.Fprintf(w, "\ndeductions (against the reference %s):\n", sum.Reference)
			any = true
		}
		for _, d := range r.Deductions {
			fmt.Fprintf(w, "  run %d: -%g %s: reference %s, observed %s (%s)\n", r.Index, d.Points, d.Metric,
				record.FormatMetric(d.Metric, d.Reference), record.FormatMetric(d.Metric, d.Observed), d.Rule)
		}
	}
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

// EpisodeText describes one inversion episode: the medium-priority work
// that ran, largest share (the culprit) first.
func EpisodeText(e analyze.Episode) string {
	if len(e.Shares) == 0 { // a record written before shares existed
		return fmt.Sprintf("%s waited %s for %s held by %s while medium-priority work (%s first) ran %s",
			e.High, Dur(e.LengthUS), e.Lock, e.Low, e.Medium, Dur(e.MediumUS))
	}
	parts := make([]string, len(e.Shares))
	for i, sh := range e.Shares {
		parts[i] = sh.Task + " " + Dur(sh.US)
	}
	return fmt.Sprintf("%s waited %s for %s held by %s while medium-priority work ran %s (culprit %s; %s)",
		e.High, Dur(e.LengthUS), e.Lock, e.Low, Dur(e.MediumUS), e.Medium, strings.Join(parts, ", "))
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

// WriteRequirements prints each requirement the checks cite, with its
// verdict and the evidence, then the requirement texts.
func WriteRequirements(w io.Writer, sum *record.Summary) {
	if len(sum.Requirements) == 0 {
		return
	}
	fmt.Fprintf(w, "\nrequirements\n")
	t := NewTable(w)
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

// Evidence is the qualification line under a table's title: what was
// tested, with what, by what, and when.
func Evidence(sum *record.Summary) string {
	var parts []string
	c := "campaign hash " + sum.CampaignHash
	if sum.CampaignVersion != "" {
		c += ", version " + sum.CampaignVersion
	}
	parts = append(parts, c)
	if fw := sum.Firmware; fw != nil {
		parts = append(parts, fmt.Sprintf("firmware %s %s (build %s)", fw.Name, fw.Version, fw.Build))
	}
	if sum.Harness != "" {
		parts = append(parts, "harness "+sum.Harness)
	}
	if sum.Started != "" {
		parts = append(parts, "runs from "+sum.Started+" to "+sum.Ended)
	}
	return strings.Join(parts, "; ")
}
