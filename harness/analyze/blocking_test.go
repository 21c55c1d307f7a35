package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"

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
