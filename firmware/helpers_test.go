package firmware

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

const us = time.Microsecond

// rec collects what a quiet board (no UART encoding) reports through the
// internal hooks.
type rec struct {
	evs   []wire.Event
	sms   []wire.Summary
	dones int
}

// quietBoard builds a board whose events go only to the returned recorder.
func quietBoard(t testing.TB, p *Profile, cfg Config) (*Board, *rec) {
	t.Helper()
	b, err := NewBoard(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &rec{}
	b.quiet = true
	b.hook = func(e wire.Event) { r.evs = append(r.evs, e) }
	b.smHook = func(s wire.Summary) { r.sms = append(r.sms, s) }
	b.doneHook = func() { r.dones++ }
	return b, r
}

// boot advances b until its BOOT banner has gone out.
func boot(b *Board) {
	b.AdvanceTo(b.Now() + int64(b.prof.BootDelay))
}

// goRun starts a run of d and advances the board to its end.
func goRun(b *Board, d time.Duration) {
	b.command(wire.Command{Type: wire.TypeStart, ID: 1, Duration: uint64(d / us)})
	b.AdvanceTo(b.Now() + int64(d))
}

// sf schedules a fault at µs after GO.
func sf(b *Board, at time.Duration, f wire.FaultCmd) {
	b.command(wire.Command{Type: wire.TypeSchedule, ID: 2, At: uint64(at / us), Fault: f})
}

// worst returns the largest EN response (µs) per task index.
func (r *rec) worst() map[int32]int64 {
	m := map[int32]int64{}
	for _, e := range r.evs {
		if e.Kind == wire.EvEnd && e.Arg > m[e.Task] {
			m[e.Task] = e.Arg
		}
	}
	return m
}

func (r *rec) count(kind wire.EventKind, task int32) int {
	n := 0
	for _, e := range r.evs {
		if e.Kind == kind && (task == anyTask || e.Task == task) {
			n++
		}
	}
	return n
}

const anyTask = -2

func periodic(name string, prio int, period, offset time.Duration, body ...Segment) TaskSpec {
	return TaskSpec{Name: name, Priority: prio, Period: period, Offset: offset, Body: body}
}

func fixed(d time.Duration) Segment { return compute(d, d) }

const (
	evDM = wire.EvDeadlineMiss
	evWX = wire.EvWatchdogExpiry
)

const evEN = wire.EvEnd
