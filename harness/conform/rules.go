// Package conform checks a board's implementation of the wire protocol
// (docs/PROTOCOL.md) against every rule a host can observe, the way a
// protocol conformance kit does: it drives the board through a fixed
// script of commands and runs, and reports each rule with PASS, FAIL or
// SKIP and the section of the spec it comes from.
//
// The script needs nothing from the board beyond the protocol: it learns
// the task table from the board, provokes a watchdog reset with a load
// burst above every declared task, and reads times only from the board's
// own clock (EV, SM and DN times), never from the host's. Rules of version
// 2 are skipped on a board that announces version 1.
package conform

import (
	"fmt"
	"slices"
	"strings"
)

// Status is a rule's outcome.
type Status int

// Outcomes, in the order a summary counts them.
const (
	Skip Status = iota // not applicable to this board, or not reached
	Pass
	Fail
)

// MarshalText writes the status as PASS, FAIL or SKIP.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	}
	return "SKIP"
}

// Rule is one host-observable rule of docs/PROTOCOL.md.
type Rule struct {
	ID      string `json:"rule"`    // short name, stable: tests and CI logs refer to it
	Section string `json:"section"` // where docs/PROTOCOL.md states it
	Title   string `json:"title"`
	V2      bool   `json:"v2,omitempty"` // a rule of protocol version 2: skipped on a v1 board
}

// Rules is every rule checked, in the order they are reported.
var Rules = []Rule{
	{"frames", "1.2", "frames arrive intact: no bad CRC, malformed or truncated frame on a clean link", false},
	{"frame-length", "1", "every frame fits in MaxFrame (128 bytes with its line end)", false},
	{"fields", "3.1", "every board frame decodes with its type's fields", false},
	{"banner", "2, 3.1", "BT names the firmware, a known reset reason and the protocol version", false},
	{"table", "2, 2.3", "TK and LK in index order, TE counts equal to the entries sent", false},
	{"load-task", "3.5", "a `load` pseudo-task follows the board's own tasks; load bursts run as it", true},
	{"answers", "2.2", "every command is answered with AK or NK carrying its id", false},
	{"nak-reasons", "3.4", "refusals carry the spec's reason: bad_key, idle, bad_fault, busy", false},
	{"identify", "2.3", "ID: AK, then BT with the same boot count and the whole table", true},
	{"identify-running", "2.3", "ID during a run sends the table again and the run goes on", true},
	{"idempotent-ids", "2.2", "a repeated id is answered again and not carried out twice (ID, SF, GO)", true},
	{"reset-sw", "2", "RS reboots the board: BT reason SW, boot count one higher, then the table", false},
	{"sequence", "2", "EV/SM sequence numbers start at 0 after boot and go up by one; DN carries the next", false},
	{"event-times", "2", "EV, SM and DN times never go back within a boot", false},
	{"fault-timing", "2, 3.4", "an SF at t fires (FB) at the GO event's time + t, within the tolerance", false},
	{"fault-end", "3.5", "a load burst's FE follows its FB after at least its length", false},
	{"done", "2.4", "DN once, when the run's duration has passed in board time", false},
	{"summaries", "2.6", "an SM per task every second of a run, and a final one before DN", true},
	{"idle", "2.5", "no EV or SM outside a run", true},
	{"ping-dn", "2.4", "PG after a run repeats that run's DN before the AK", true},
	{"stop", "2.4", "SP ends a run (final SM, DN, then AK); SP on an idle board is AK", false},
	{"reset-wdt", "2", "a starved watchdog resets the board: WX, then BT reason WDT and the table", false},
	{"black-box", "2.8", "after a watchdog reset DP replays the events before it as BX, ending at WX; DP does not consume them", false},
}

// Result is one rule's outcome.
type Result struct {
	Rule
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"` // why it failed or was skipped; what was seen when it passed
}

// Report is what Run found.
type Report struct {
	Target  string   `json:"target"`
	Board   string   `json:"board"`    // name version build from the last BT
	Proto   int      `json:"protocol"` // protocol version the board announced (1 or 2), 0 if none
	Results []Result `json:"results"`
}

// Failed lists the rules that failed.
func (r *Report) Failed() []string {
	var ids []string
	for _, x := range r.Results {
		if x.Status == Fail {
			ids = append(ids, x.ID)
		}
	}
	return ids
}

// Count returns how many results have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// Result returns the result of the rule named id.
func (r *Report) Result(id string) (Result, bool) {
	for _, x := range r.Results {
		if x.ID == id {
			return x, true
		}
	}
	return Result{}, false
}

// verdicts collects outcomes while the script runs: a rule passes when it
// was checked at least once and never failed.
type verdicts struct {
	checked map[string]bool
	fails   map[string][]string
	skips   map[string]string
	notes   map[string]string
}

func newVerdicts() *verdicts {
	return &verdicts{checked: map[string]bool{}, fails: map[string][]string{}, skips: map[string]string{}, notes: map[string]string{}}
}

func mustRule(id string) {
	for _, r := range Rules {
		if r.ID == id {
			return
		}
	}
	panic("conform: unknown rule " + id)
}

// ok records a passing check of rule id.
func (v *verdicts) ok(id string) { mustRule(id); v.checked[id] = true }

// note records a passing check with what was seen.
func (v *verdicts) note(id, format string, a ...any) {
	v.ok(id)
	v.notes[id] = fmt.Sprintf(format, a...)
}

// fail records a failed check of rule id.
func (v *verdicts) fail(id, format string, a ...any) {
	mustRule(id)
	v.checked[id] = true
	msg := fmt.Sprintf(format, a...)
	if !slices.Contains(v.fails[id], msg) {
		v.fails[id] = append(v.fails[id], msg)
	}
}

// check records a check of rule id that passes when cond holds.
func (v *verdicts) check(id string, cond bool, format string, a ...any) bool {
	if cond {
		v.ok(id)
	} else {
		v.fail(id, format, a...)
	}
	return cond
}

// failed reports whether rule id has failed so far.
func (v *verdicts) failed(id string) bool { return len(v.fails[id]) > 0 }

// skip marks rule id not applicable, unless it was checked already.
func (v *verdicts) skip(id, why string) {
	mustRule(id)
	if _, done := v.skips[id]; !done {
		v.skips[id] = why
	}
}

// maxFailDetails bounds the failures quoted per rule.
const maxFailDetails = 3

func (v *verdicts) results(proto int, stopped string) []Result {
	out := make([]Result, 0, len(Rules))
	for _, r := range Rules {
		res := Result{Rule: r}
		switch fails := v.fails[r.ID]; {
		case len(fails) > 0:
			res.Status = Fail
			shown := fails[:min(len(fails), maxFailDetails)]
			res.Detail = strings.Join(shown, "; ")
			if len(fails) > len(shown) {
				res.Detail += fmt.Sprintf(" (and %d more)", len(fails)-len(shown))
			}
		case r.V2 && proto < 2:
			res.Detail = fmt.Sprintf("a version 2 rule; the board speaks version %d", max(proto, 1))
		case v.skips[r.ID] != "":
			res.Detail = v.skips[r.ID]
		case v.checked[r.ID]:
			res.Status = Pass
			res.Detail = v.notes[r.ID]
		case stopped != "":
			res.Detail = "not reached: " + stopped
		default:
			res.Detail = "not checked"
		}
		out = append(out, res)
	}
	return out
}
