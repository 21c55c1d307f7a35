package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// The classic pattern under the ceiling protocol: low holds the bus (and so
// runs at the ceiling, 9) when high is released, and medium is released in
// between. Neither can preempt: high is blocked for what is left of low's
// critical section, although it never waits on the lock itself.
//
//	0  low released, runs        5  low unlocks: high runs, locks, unlocks
//	1  low locks bus (ceiling 9) 8  high ends (resp 6): blocked 2..5 = 3
//	2  high released: ready      14 medium ends (resp 11): blocked 3..5 = 2
//	3  medium released: ready    15 low ends
func TestCeilingBlocking(t *testing.T) {
	trace := []step{
		{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1},
		{1, wire.EvLock, tL, 0}, {1, wire.EvPriority, tL, 9},
		{2, wire.EvRelease, tH, 0},
		{3, wire.EvRelease, tM, 0},
		{5, wire.EvUnlock, tL, 0}, {5, wire.EvPriority, tL, 2}, {5, wire.EvSwitch, tH, tL},
		{5, wire.EvLock, tH, 0}, {7, wire.EvUnlock, tH, 0},
		{8, wire.EvEnd, tH, 6}, {8, wire.EvSwitch, tM, tH},
		{14, wire.EvEnd, tM, 11}, {14, wire.EvSwitch, tL, tM},
		{15, wire.EvEnd, tL, 15}, {15, wire.EvSwitch, -1, tL},
	}
	for _, withCS := range []bool{true, false} {
		a := New()
		if !withCS {
			a.SetLevel(1)
		}
		a.SetTable(table("ceiling"))
		feed(a, trace, withCS)
		a.Finish(20)
		ts := a.Tasks()
		assert.Equal(t, int64(3), ts["high"].MaxBlockingUS, "withCS=%v: the rest of low's critical section, 2..5", withCS)
		assert.Equal(t, map[string]int64{"bus": 0}, ts["high"].BlockingByLockUS, "it never waited on the lock")
		assert.Equal(t, int64(2), ts["medium"].MaxBlockingUS, "3..5: ceiling blocking reaches the tasks in between")
		assert.Zero(t, ts["low"].MaxBlockingUS)
		assert.Zero(t, a.Inversions)
		bounds, finds := a.Oracle()
		h := boundOf(bounds, "high")
		assert.Equal(t, int64(4), h.BlockingTermUS, "low's critical section 1..5")
		assert.Equal(t, int64(4), h.BlockingBoundUS)
		assert.Empty(t, finds)
	}
}

// Time a more urgent task runs is interference, not blocking.
func TestPreemptionIsNotBlocking(t *testing.T) {
	a := New()
	a.SetTable(table("inherit"))
	feed(a, []step{
		{0, wire.EvRelease, tM, 0}, {0, wire.EvSwitch, tM, -1},
		{1, wire.EvRelease, tH, 0}, {1, wire.EvSwitch, tH, tM},
		{4, wire.EvEnd, tH, 3}, {4, wire.EvSwitch, tM, tH},
		{7, wire.EvEnd, tM, 7}, {7, wire.EvSwitch, -1, tM},
	}, true)
	a.Finish(10)
	assert.Zero(t, a.Tasks()["medium"].MaxBlockingUS)
	assert.Equal(t, uint64(1), a.Tasks()["medium"].Preemptions)
}

// At trace level 0 there is no lock data: the oracle gives no bound and no
// finding, whatever the window maxima say.
func TestOracleLevel0NoLockData(t *testing.T) {
	a := New()
	a.SetLevel(0)
	a.SetTable(table("inherit"))
	a.Summary(&wire.Summary{Time: 3_000_000, Task: tH, Jobs: 10, MaxResp: 90})
	bounds, finds := a.Oracle()
	assert.Empty(t, finds)
	h := boundOf(bounds, "high")
	assert.Equal(t, int64(-1), h.ResponseBoundUS)
	assert.Equal(t, int64(-1), h.BlockingBoundUS)
	assert.Contains(t, h.Note, "no bound: no lock data")
	assert.Equal(t, int64(3_000_000), a.byName["high"].MaxResponseAt)
}

// Pathfinder's episodes: comm_tx runs first, briefly; then a load burst and
// imaging do most of the preempting. The culprit is the largest share, not
// the first medium task seen, and every medium task's share is listed.
//
//	table: high 9, tx 6, imaging 4, low 2, load (burst at 5)
//	0 low locks   2 high blocks   3..5 tx   5..25 burst   25..40 imaging
//	40..41 tx     41 low unlocks, high locks
func TestInversionCulprit(t *testing.T) {
	a := New()
	a.SetFaultPriority(7, 5)
	a.SetTable(&wire.Table{
		Tasks: []wire.TaskInfo{
			{Index: 0, Name: "high", Priority: 9, Period: 1000, Deadline: 1000},
			{Index: 1, Name: "comm_tx", Priority: 6, Period: 1000, Deadline: 1000},
			{Index: 2, Name: "imaging", Priority: 4, Period: 1000, Deadline: 1000},
			{Index: 3, Name: "low", Priority: 2, Period: 1000, Deadline: 1000},
			{Index: 4, Name: LoadTask},
		},
		Locks: []wire.LockInfo{{Index: 0, Name: "bus", Protocol: "none", Ceiling: 9}},
	})
	feed(a, []step{
		{0, wire.EvRelease, 3, 0}, {0, wire.EvSwitch, 3, -1}, {0, wire.EvLock, 3, 0},
		{1, wire.EvRelease, 0, 0}, {1, wire.EvSwitch, 0, 3},
		{2, wire.EvBlock, 0, 0}, {2, wire.EvSwitch, 3, 0},
		{3, wire.EvRelease, 1, 0}, {3, wire.EvSwitch, 1, 3},
		{5, wire.EvFaultBegin, 4, 7}, {5, wire.EvSwitch, 4, 1},
		{25, wire.EvFaultEnd, 4, 7}, {25, wire.EvRelease, 2, 0}, {25, wire.EvSwitch, 2, 4},
		{40, wire.EvEnd, 2, 15}, {40, wire.EvSwitch, 1, 2},
		{41, wire.EvEnd, 1, 38}, {41, wire.EvSwitch, 3, 1},
		{42, wire.EvUnlock, 3, 0}, {42, wire.EvLock, 0, 0}, {42, wire.EvSwitch, 0, 3},
	}, true)
	a.Finish(50)
	require.Len(t, a.Episodes, 1)
	e := a.Episodes[0]
	assert.Equal(t, LoadTask, e.Medium, "the burst took the most")
	assert.Equal(t, []Share{{LoadTask, 20}, {"imaging", 15}, {"comm_tx", 3}}, e.Shares)
	assert.Equal(t, int64(38), e.MediumUS)
	assert.Equal(t, int64(3), e.StartUS)
	assert.Equal(t, int64(39), e.LengthUS)
	assert.Equal(t, "load 20 µs, imaging 15 µs, comm_tx 3 µs", e.SharesText())
}
