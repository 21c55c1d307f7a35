package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Events on both sides of a gap never join: a job released before the gap
// and ended after it, a job whose release was lost in the gap, a wait and a
// critical section open across it, and a release interval across it give no
// figure; jobs wholly after the gap do.
//
//	0  low released, runs, 1 locks bus     (gap after the event at 3)
//	2  high released, 3 blocks on bus      ... lost: low unlocks, high locks,
//	                                        medium released ...
//	40 high ends (resp 38): cut, straddled the gap
//	41 medium ends (resp 7): cut, its release was lost
//	50 low ends: cut, straddled the gap
//	100 high released, 103 ends (resp 3): a clean job
func TestGapNeverJoins(t *testing.T) {
	for _, withCS := range []bool{true, false} {
		a := New()
		if !withCS {
			a.SetLevel(1)
		}
		a.SetTable(table("none"))
		feed(a, []step{
			{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1},
			{1, wire.EvLock, tL, 0},
			{2, wire.EvRelease, tH, 0}, {2, wire.EvSwitch, tH, tL},
			{3, wire.EvBlock, tH, 0}, {3, wire.EvSwitch, tL, tH},
		}, withCS)
		a.Gap(3)
		feed(a, []step{
			{39, wire.EvUnlock, tH, 0},
			{40, wire.EvEnd, tH, 38}, {40, wire.EvSwitch, tM, tH},
			{41, wire.EvEnd, tM, 7}, {41, wire.EvSwitch, tL, tM},
			{50, wire.EvEnd, tL, 50}, {50, wire.EvSwitch, -1, tL},
			{100, wire.EvRelease, tH, 0}, {100, wire.EvSwitch, tH, -1},
			{103, wire.EvEnd, tH, 3}, {103, wire.EvSwitch, -1, tH},
		}, withCS)
		a.Finish(200)

		ts := a.Tasks()
		h, m, l := ts["high"], ts["medium"], ts["low"]
		assert.Equal(t, uint64(1), h.Jobs, "withCS=%v: only the job after the gap", withCS)
		assert.Equal(t, uint64(1), h.GapCut)
		assert.Equal(t, int64(3), h.MaxResponseUS, "the 38 µs response straddled the gap")
		assert.Equal(t, int64(3), h.P99ResponseUS)
		assert.Zero(t, h.MaxBlockingUS, "the wait from 3 was open at the gap: no duration invented")
		assert.Equal(t, map[string]int64{"bus": 0}, h.BlockingByLockUS)
		assert.Zero(t, h.MaxReleaseJitterUS, "release interval 2..100 spans the gap")
		assert.Zero(t, m.Jobs)
		assert.Equal(t, uint64(1), m.GapCut, "its release was lost in the gap")
		assert.Zero(t, m.MaxResponseUS)
		assert.Empty(t, m.ResponseHist)
		assert.Zero(t, l.Jobs)
		assert.Equal(t, uint64(1), l.GapCut)
		assert.Zero(t, l.MaxResponseUS)
		assert.Zero(t, a.byName["low"].lockCS[0], "the critical section from 1 was open at the gap")
		assert.Zero(t, a.Inversions)
		assert.Equal(t, uint64(1), a.Gaps)
		_, finds := a.Oracle()
		assert.Empty(t, finds)
	}
}

// An inversion episode open at a gap ends at the gap with what was seen.
func TestGapClosesEpisode(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	feed(a, inversionTrace[:9], true) // medium runs from 4
	a.Gap(7)
	feed(a, inversionTrace[9:], true)
	a.Finish(20)
	require.Equal(t, 1, a.Inversions)
	assert.Equal(t, int64(3), a.Episodes[0].LengthUS, "4..7, not joined to what follows")
	assert.Equal(t, int64(3), a.Episodes[0].MediumUS)
	ts := a.Tasks()
	assert.Zero(t, ts["high"].Jobs)
	assert.Equal(t, uint64(1), ts["high"].GapCut)
	assert.Equal(t, uint64(1), ts["medium"].GapCut)
	assert.Equal(t, uint64(1), ts["low"].GapCut)
}
