package shrink

import (
	"fmt"
	"strings"
)

// Evidence is what a run record says about how a run failed, in the terms
// the signature needs (the harness fills it from its record, so this
// package does not depend on the record's schema).
type Evidence struct {
	Verdict string // "pass", "fail" or "error"
	// Resets in run order, the first ones at least; expected resets left out.
	Resets []ResetEvidence
	// Episodes: priority-inversion episodes, in run order.
	Episodes []EpisodeEvidence
	// FailedChecks: the expressions of the checks that failed, in campaign order.
	FailedChecks []string
}

// ResetEvidence is one unexpected reset.
type ResetEvidence struct {
	AtUS int64
	Kind string // watchdog, software, power_on, hang, unknown
	// From the black box, when the board sent one: the task that missed
	// its deadline last before the reset, and the task blocked on a lock
	// (never granted it) with that lock.
	Missed, Blocked, Lock string
}

// EpisodeEvidence is one priority-inversion episode.
type EpisodeEvidence struct {
	StartUS, LengthUS int64
	High, Lock        string
}

// Signature names how a run failed, so a shrink keeps only candidates that
// fail the same way, and gives the run time of that failure (-1 if the run
// does not say). A passing or errored run has the empty signature.
//
// The first unexpected reset decides, with the task that was blocked and
// the lock it waited for when the black box or the inversion analysis
// names them:
//
//	reset:watchdog blocked=bc_dist@bus
//	reset:watchdog missed=bc_dist
//	reset:hang
//
// Without a reset, the first failed check: "check:bc_dist.max_response < 125ms";
// a run failed only on its score: "score".
func Signature(ev Evidence) (sig string, atUS int64) {
	if ev.Verdict != "fail" && len(ev.Resets) == 0 {
		return "", -1
	}
	if len(ev.Resets) > 0 {
		r := ev.Resets[0]
		parts := []string{"reset:" + r.Kind}
		blocked, lock := r.Blocked, r.Lock
		if blocked == "" {
			// The inversion episode open at the reset, or the last one
			// to end within a second before it.
			for i := len(ev.Episodes) - 1; i >= 0; i-- {
				e := ev.Episodes[i]
				if e.StartUS > r.AtUS {
					continue
				}
				if e.StartUS+e.LengthUS >= r.AtUS-1_000_000 {
					blocked, lock = e.High, e.Lock
				}
				break
			}
		}
		switch {
		case blocked != "":
			parts = append(parts, fmt.Sprintf("blocked=%s@%s", blocked, lock))
		case r.Missed != "":
			parts = append(parts, "missed="+r.Missed)
		}
		return strings.Join(parts, " "), r.AtUS
	}
	if len(ev.FailedChecks) > 0 {
		return "check:" + ev.FailedChecks[0], -1
	}
	return "score", -1
}
