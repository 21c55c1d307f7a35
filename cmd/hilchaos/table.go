package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/hilchaos/hilchaos/harness"
)

// newTable is a plain-ASCII table that reads the same in a terminal and a CI log.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
	)
}

func ms(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) }

// keyTask is the task the table shows per run: the first one a check names,
// else the first declared.
func keyTask(c *harness.Campaign, sum *harness.Summary) string {
	for _, ch := range c.Checks {
		if t, _, ok := strings.Cut(ch.Metric, "."); ok && t != "resets" && t != "telemetry" {
			return t
		}
	}
	for _, r := range sum.Runs {
		for name := range r.Tasks {
			return name
		}
	}
	return ""
}

func resetText(r *harness.RunRecord) string {
	if r.Resets.Total() == 0 {
		return "0"
	}
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{{r.Resets.Watchdog, "watchdog"}, {r.Resets.Hang, "hang"}, {r.Resets.Software, "software"}, {r.Resets.PowerOn, "power-on"}, {r.Resets.Unknown, "unknown"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	return strings.Join(parts, ", ")
}

// writeTable prints the runs table, the per-task table and a summary line.
func writeTable(w io.Writer, c *harness.Campaign, sum *harness.Summary, path string) {
	key := keyTask(c, sum)
	fmt.Fprintf(w, "campaign %s  target %s  reference %s  seed %d\n\n", sum.Campaign, sum.Target, sum.Reference, sum.Seed)
	t := newTable(w)
	t.Header("run", "seed", "resets", "inversions", key+" max ms", key+" p99 ms", key+" misses", "score", "verdict")
	for i := range sum.Runs {
		r := &sum.Runs[i]
		k := r.Tasks[key]
		t.Append(fmt.Sprint(r.Index), fmt.Sprint(r.Seed), resetText(r), fmt.Sprint(r.Inversions),
			ms(k.MaxResponseUS), ms(k.P99ResponseUS), fmt.Sprint(k.DeadlineMisses), fmt.Sprintf("%.1f", r.Score), strings.ToUpper(r.Verdict))
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
	tt := newTable(w)
	tt.Header("task", "jobs", "worst ms", "worst p99 ms", "deadline misses")
	for _, n := range names {
		a := tasks[n]
		tt.Append(n, fmt.Sprint(a.jobs), ms(a.max), ms(a.p99), fmt.Sprint(a.misses))
	}
	tt.Render()

	fmt.Fprintln(w)
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Verdict == harness.Pass {
			continue
		}
		why := harness.FailedChecks(r.Checks)
		if r.Error != "" {
			why = append(why, "error: "+r.Error)
		}
		fmt.Fprintf(w, "run %d %s: %s\n  reproduce: %s\n", r.Index, r.Verdict, strings.Join(why, "; "), Reproduce(c, path, r))
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d errors; score %.1f/100\n",
		strings.ToUpper(sum.Verdict), sum.Passed, sum.Failed, sum.Errors, sum.Score)
}

// Reproduce is the one command line that replays exactly run r: a sweep
// run is named by its sweep value and its position among that value's runs.
func Reproduce(c *harness.Campaign, path string, r *harness.RunRecord) string {
	s := fmt.Sprintf("hilchaos run %s --target '%s' --seed %d --repeat %d --duration %s", path, c.Target, c.Seed, c.Repeat, c.Duration)
	run := r.Index
	if r.Sweep != nil {
		s += " --sweep-value " + r.Sweep.Value
		run = r.Sweep.Run
	}
	return s + fmt.Sprintf(" --run %d", run)
}
