// Package shrink minimises a failing fault schedule: from the hundreds of
// firings of a failing run to the one or two that still make the board fail
// the same way, with the smallest parameters and the shortest run.
//
// It knows nothing of boards. A trial is asked of an Oracle (the harness
// runs the candidate schedule on a target; tests use predicates), its
// answer is judged by a Judge (one trial on a deterministic target, a
// sequential test elsewhere), and every trial is kept in an append-only
// log so an interrupted shrink resumes without repeating one.
//
// The steps, each keeping only candidates that fail with the original
// failure signature:
//
//  1. delta debugging (ddmin) over the firings, to a 1-minimal sub-list;
//  2. bisection of each remaining firing's numeric parameters toward the
//     smallest value that still fails;
//  3. the run's duration cut to just after the failure.
package shrink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Firing is one fault firing of a schedule: what fires, when, and with
// which parameters (the fault kind's own keys, as a campaign writes them:
// durations as strings such as "25ms", numbers as numbers).
type Firing struct {
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	AtUS   int64          `json:"at_us"` // run time, µs after the run started
	Params map[string]any `json:"params"`
}

// Candidate is a schedule to try: its firings (sorted by time) and the
// run's board time.
type Candidate struct {
	Firings    []Firing `json:"firings"`
	DurationUS int64    `json:"duration_us"`
}

// Key is a stable hash of the candidate's content: the same firings,
// parameters and duration give the same key in every invocation.
func (c Candidate) Key() string {
	b, err := json.Marshal(c) // map keys are sorted by encoding/json
	if err != nil {
		panic(err) // params come from decoded campaigns: always encodable
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Size is the number of firings.
func (c Candidate) Size() int { return len(c.Firings) }

// with returns a copy of c holding only the firings at the given indices.
func (c Candidate) with(idx []int) Candidate {
	out := Candidate{DurationUS: c.DurationUS, Firings: make([]Firing, 0, len(idx))}
	for _, i := range idx {
		out.Firings = append(out.Firings, c.Firings[i])
	}
	return out
}

// clone copies c deeply enough to change one firing's parameters.
func (c Candidate) clone() Candidate {
	out := Candidate{DurationUS: c.DurationUS, Firings: make([]Firing, len(c.Firings))}
	for i, f := range c.Firings {
		p := make(map[string]any, len(f.Params))
		for k, v := range f.Params {
			p[k] = v
		}
		f.Params = p
		out.Firings[i] = f
	}
	return out
}

// SortFirings orders firings by time, then name, so equal schedules have
// equal keys.
func SortFirings(fs []Firing) {
	sort.SliceStable(fs, func(a, b int) bool {
		if fs[a].AtUS != fs[b].AtUS {
			return fs[a].AtUS < fs[b].AtUS
		}
		return fs[a].Name < fs[b].Name
	})
}

// Outcome is what one trial saw.
type Outcome struct {
	// Failed is true when the run failed (a check, a reset, the score).
	Failed bool `json:"failed"`
	// Signature names how it failed (see Signature); empty when it passed.
	Signature string `json:"signature,omitempty"`
	// BoardUS is the board time the trial used.
	BoardUS int64 `json:"board_us"`
	// FailAtUS is the run time of the failure the signature names, -1 when
	// unknown (a check that failed on the whole run).
	FailAtUS int64 `json:"fail_at_us"`
}

// Oracle runs one trial of a candidate. rep numbers the repeated trials of
// one candidate from 0, so a target with its own randomness (a simulated
// board's execution times) can draw afresh for each. An error is an
// infrastructure failure: the shrink stops with it.
type Oracle interface {
	Trial(ctx context.Context, c Candidate, rep int) (Outcome, error)
}

// OracleFunc adapts a function to Oracle.
type OracleFunc func(ctx context.Context, c Candidate, rep int) (Outcome, error)

// Trial implements Oracle.
func (f OracleFunc) Trial(ctx context.Context, c Candidate, rep int) (Outcome, error) {
	return f(ctx, c, rep)
}

// Budget bounds a shrink. Zero fields mean no bound.
type Budget struct {
	Trials int           // trials in all, those answered from the log included
	Board  time.Duration // board time in all, likewise
}

// Progress is reported after every trial.
type Progress struct {
	Step       string // "check", "ddmin", "params", "duration", "confirm"
	Size       int    // firings in the smallest failing schedule so far
	Trials     int    // trials used (from the log or run)
	Ran        int    // trials run in this invocation
	BoardUS    int64  // board time used
	TrialsLeft int    // -1 with no trial budget
	BoardLeft  int64  // µs, -1 with no board-time budget
}

func (p Progress) String() string {
	s := fmt.Sprintf("shrink %-8s firings %3d  trials %d", p.Step, p.Size, p.Trials)
	if p.TrialsLeft >= 0 {
		s += fmt.Sprintf(" (%d left)", p.TrialsLeft)
	}
	s += fmt.Sprintf("  board %s", time.Duration(p.BoardUS)*time.Microsecond)
	if p.BoardLeft >= 0 {
		s += fmt.Sprintf(" (%s left)", (time.Duration(p.BoardLeft) * time.Microsecond).Round(time.Millisecond))
	}
	return s
}
