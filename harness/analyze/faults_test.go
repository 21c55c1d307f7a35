package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

func goEv(a *Analyzer, t int64) {
	ev := wire.Event{Kind: wire.EvRun, Task: -1}
	a.Event(t, &ev)
}

func fb(a *Analyzer, t int64, id int64) {
	ev := wire.Event{Kind: wire.EvFaultBegin, Task: -1, Arg: id}
	a.Event(t, &ev)
}

// Each uploaded firing is reconciled with its FB within the tolerance of
// board time; one without it (or with it too far off) is missing.
func TestFaultReconciliation(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.SetFaultTolerance(2)
	for i, at := range []int64{100, 200, 300, 400, 5000} {
		a.ExpectFault(uint32(i), at, 0)
	}
	goEv(a, 0)
	fb(a, 100, 0)
	fb(a, 205, 1) // late by 5 µs
	fb(a, 401, 3) // 1 µs late: within the tolerance
	fb(a, 450, 9) // of no planned firing
	a.Finish(1000)
	fc := a.Faults()
	assert.Equal(t, uint64(4), fc.Expected, "the firing at 5000 was never due")
	assert.Equal(t, uint64(2), fc.Begun)
	assert.Equal(t, uint64(2), fc.Missing)
	assert.Equal(t, uint64(1), fc.Unplanned)
	require.Len(t, fc.List, 2)
	assert.Equal(t, MissingFault{ID: 1, ExpectedUS: 200, BegunUS: 205, Why: "FB late by 5 µs"}, fc.List[0])
	assert.Equal(t, MissingFault{ID: 2, ExpectedUS: 300, BegunUS: -1, Why: "no FB event"}, fc.List[1])
}

// A board that ignores fault commands: every due firing is missing, found
// as the board's own events show time passing.
func TestFaultsIgnored(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	for i := range 10 {
		a.ExpectFault(uint32(i), int64(i)*1_000_000, 0)
	}
	goEv(a, 0)
	for tt := int64(0); tt < 10_000_000; tt += 125_000 {
		feed(a, []step{{tt, wire.EvRelease, tH, 0}, {tt + 5, wire.EvEnd, tH, 5}}, false)
	}
	assert.Equal(t, uint64(10), a.Faults().Missing, "settled as time passes, before Finish")
	a.Done(10_000_000)
	a.Finish(9_875_005)
	fc := a.Faults()
	assert.Equal(t, uint64(10), fc.Missing)
	assert.Zero(t, fc.Begun)
	assert.Equal(t, int64(10_000_000), a.ReachedUS())
}

// Firings due inside a gap are neither begun nor missing; a reset drops the
// firings due after it (they died with the board) and misses the ones due
// well before it.
func TestFaultsAcrossGapAndReset(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.SetFaultTolerance(2)
	a.ExpectFault(0, 100, 0)
	a.ExpectFault(1, 300, 0)
	a.ExpectFault(2, 900, 0)
	a.ExpectFault(3, 1500, 0)
	goEv(a, 0)
	feed(a, []step{{50, wire.EvRelease, tH, 0}}, false)
	a.Gap(50)
	feed(a, []step{{400, wire.EvEnd, tH, 350}}, false) // firings 0 and 1 fell in the gap
	a.Reset(1000)                                      // 2 was due at 900 and never began
	a.ExpectFault(3, 500, 0)                           // uploaded again after the reboot, relative to its GO
	goEv(a, 1100)
	fb(a, 1600, 3)
	a.Finish(2000)
	fc := a.Faults()
	assert.Equal(t, uint64(2), fc.Excused)
	assert.Equal(t, uint64(1), fc.Missing)
	assert.Equal(t, uint64(1), fc.Begun)
	assert.Equal(t, uint64(4), fc.Expected)
	require.Len(t, fc.List, 1)
	assert.Equal(t, uint32(2), fc.List[0].ID)
}

// A lock hold begins at the task's next critical section on the lock: its
// FB may come up to the window after the firing time, and no later.
func TestLockHoldWindow(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.SetFaultTolerance(2)
	a.ExpectFault(0, 100, 50)
	a.ExpectFault(1, 200, 50)
	goEv(a, 0)
	fb(a, 141, 0) // 41 µs after: within its window
	fb(a, 260, 1) // 60 µs after: beyond 50 + 2
	a.Finish(1000)
	fc := a.Faults()
	assert.Equal(t, uint64(1), fc.Begun)
	require.Len(t, fc.List, 1)
	assert.Equal(t, "FB late by 60 µs", fc.List[0].Why)
}

// When the segment's GO event is lost, a firing's FB still shows it began;
// its time cannot be checked.
func TestFaultBegunWithoutGO(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.SetFaultTolerance(2)
	a.ExpectFault(0, 100, 0)
	fb(a, 1500, 0)
	a.Finish(2000)
	fc := a.Faults()
	assert.Equal(t, uint64(1), fc.Begun)
	assert.Zero(t, fc.Missing)
}

// An FB that comes long after its firing was settled missing names the
// firing late, and is not unplanned.
func TestFaultVeryLate(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.SetFaultTolerance(2)
	a.ExpectFault(0, 100, 0)
	goEv(a, 0)
	feed(a, []step{{500, wire.EvRelease, tH, 0}}, false) // settles firing 0 missing
	fb(a, 2300, 0)
	a.Finish(3000)
	fc := a.Faults()
	assert.Equal(t, uint64(1), fc.Missing)
	assert.Zero(t, fc.Unplanned)
	require.Len(t, fc.List, 1)
	assert.Equal(t, MissingFault{ID: 0, ExpectedUS: 100, BegunUS: 2300, Why: "FB late by 2.2 ms"}, fc.List[0])
}
