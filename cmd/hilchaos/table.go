package main

import (
	"fmt"
	"io"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/report"
)

// writeTable prints the campaign table (the same as `hilchaos report`
// prints) with a reproduce line for every run that did not pass.
func writeTable(w io.Writer, c *harness.Campaign, sum *harness.Summary, path string) {
	report.WriteTable(w, sum, func(r *harness.RunRecord) string { return Reproduce(c, path, r) })
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
