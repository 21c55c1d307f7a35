package main

import (
	"fmt"
	"io"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/report"
)

// writeRigs prints, after the campaign table, the rig errors (apart from
// the firmware's verdicts) and, for a pool, the rig health table.
func writeRigs(w io.Writer, sum *harness.Summary) {
	if len(sum.RigErrors) > 0 {
		fmt.Fprintf(w, "\nrig errors (%d; not counted against the firmware):\n", len(sum.RigErrors))
		for _, e := range sum.RigErrors {
			rig, end := "", "stayed in error"
			if e.Rig != "" {
				rig = " on " + e.Rig
			}
			if e.Recovered {
				end = "retried, done"
			}
			fmt.Fprintf(w, "  run %d%s: %s [%s]\n", e.Index, rig, e.Error, end)
		}
	}
	if len(sum.Rigs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nrig health:")
	t := report.NewTable(w)
	t.Header("rig", "target", "runs", "passed", "failed", "errors", "power cycles", "state")
	for _, h := range sum.Rigs {
		state := "in service"
		if h.Quarantined {
			state = "QUARANTINED: " + h.Reason
		}
		_ = t.Append(h.Name, h.Target, h.Runs, h.Passed, h.Failed, h.Errors, h.PowerCycles, state)
	}
	_ = t.Render()
}
