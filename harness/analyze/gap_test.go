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
// blocking, CPU-time or jitter figure. Their responses are the board's own
// measure (EN's arg) and count.
//
//	0  low released, runs, 1 locks bus     (gap after the event at 3)
//	2  high released, 3 blocks on bus      ... lost: low unlocks, high locks,
//	                                        medium released ...
//	40 high ends (resp 38): cut, straddled the gap
//	41 medium ends (resp 7): cut, its release was lost
//	50 low ends (resp 50): cut, straddled the gap
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
		assert.Equal(t, uint64(2), h.Jobs, "withCS=%v: the board reported both ends", withCS)
		assert.Equal(t, uint64(1), h.GapCut)
		assert.Equal(t, int64(38), h.MaxResponseUS, "the board measured 38 µs")
		assert.Zero(t, h.MaxBlockingUS, "the wait from 3 was open at the gap: no duration invented")
		assert.Equal(t, map[string]int64{"bus": 0}, h.BlockingByLockUS)
		assert.Equal(t, int64(3), h.MaxExecUS, "only the job after the gap: 100..103")
		assert.Zero(t, h.MaxReleaseJitterUS, "release interval 2..100 spans the gap")
		assert.Equal(t, uint64(1), m.Jobs)
		assert.Equal(t, uint64(1), m.GapCut, "its release was lost in the gap")
		assert.Equal(t, int64(7), m.MaxResponseUS)
		assert.Equal(t, uint64(1), l.Jobs)
		assert.Equal(t, uint64(1), l.GapCut)
		assert.Equal(t, int64(50), l.MaxResponseUS)
		assert.Zero(t, l.MaxExecUS, "low's CPU time straddled the gap")
		assert.Zero(t, a.byName["low"].lockCS[0], "the critical section from 1 was open at the gap")
		assert.Zero(t, a.Inversions)
		assert.Equal(t, uint64(1), a.Gaps)
		_, finds := a.Oracle()
		for _, f := range finds {
			assert.Equal(t, "response_us", f.Metric, "only the board's own measure may leave the model: %s", f.Message)
		}
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
	assert.Equal(t, uint64(1), ts["high"].Jobs, "its response is the board's")
	assert.Zero(t, ts["high"].MaxBlockingUS, "its wait straddled the gap")
	assert.Equal(t, uint64(1), ts["high"].GapCut)
	assert.Equal(t, uint64(1), ts["medium"].GapCut)
	assert.Equal(t, uint64(1), ts["low"].GapCut)
}

// A job a reset kills is a censored sample at its time to the reset: it
// enters the histogram, max and percentiles, and is a deadline miss when its
// deadline had passed and the board had not reported the miss itself.
//
// high (deadline 100) completes 49 jobs in 2 µs each; then three jobs are
// in flight at the reset at 10_150: one released at 10_000 (150 µs, past
// its deadline, DM received at 10_100), one of medium released at 10_100
// (50 µs, deadline not passed) and one of low released at 10_040 (110 µs,
// past its deadline, no DM seen: lost or never sent).
func TestResetCensorsJobs(t *testing.T) {
	a := New()
	a.SetLevel(1)
	a.SetTable(table("none"))
	for i := range int64(49) {
		at := i * 100
		feed(a, []step{{at, wire.EvRelease, tH, 0}, {at + 2, wire.EvEnd, tH, 2}}, false)
	}
	feed(a, []step{ // nothing after 4_900 until:
		{10_000, wire.EvRelease, tH, 0},
		{10_040, wire.EvRelease, tL, 0},
		{10_100, wire.EvRelease, tM, 0},
		{10_100, wire.EvDeadlineMiss, tH, 0},
	}, false)
	a.Reset(10_150)
	ts := a.Tasks()
	h := ts["high"]
	assert.Equal(t, uint64(49), h.Jobs)
	assert.Equal(t, uint64(1), h.Censored)
	assert.Equal(t, uint64(1), h.DeadlineMisses, "the board's DM, not counted twice")
	assert.Equal(t, int64(150), h.MaxResponseUS)
	assert.Equal(t, int64(150), h.P99ResponseUS, "1 sample in 50 is the killed job: p99 sees it")
	assert.Equal(t, int64(2), h.P50ResponseUS)
	var n int64
	for _, b := range h.ResponseHist {
		n += b.Count
	}
	assert.Equal(t, int64(50), n, "the histogram holds the censored sample")
	assert.Equal(t, int64(150), h.ResponseHist[len(h.ResponseHist)-1].LeUS)

	m := ts["medium"]
	assert.Equal(t, uint64(1), m.Censored)
	assert.Zero(t, m.DeadlineMisses, "50 µs: its deadline had not passed")
	assert.Equal(t, int64(50), m.MaxResponseUS)
	l := ts["low"]
	assert.Equal(t, uint64(1), l.DeadlineMisses, "110 µs > 100 µs deadline, no DM seen: a miss")
	assert.Equal(t, int64(110), l.P99ResponseUS)
}

// At trace level 0 the figures are of window maxima and say so; deadline
// misses come from the summaries only.
func TestLevel0NamesWindowMaxima(t *testing.T) {
	a := New()
	a.SetLevel(0)
	a.SetTable(table("none"))
	for i := range 50 {
		resp := int64(10)
		if i == 49 {
			resp = 90
		}
		a.Summary(&wire.Summary{Time: uint64(i+1) * 1_000_000, Task: tH, Jobs: 10, MaxResp: resp, Misses: 1})
	}
	ev := wire.Event{Kind: wire.EvDeadlineMiss, Task: tH}
	a.Event(5, &ev) // a board that sends DM at level 0 too
	h := a.Tasks()["high"]
	assert.True(t, h.WindowMax)
	assert.Zero(t, h.P99ResponseUS, "not a per-job percentile")
	assert.Equal(t, int64(90), h.P99OfWindowMaxUS)
	assert.Equal(t, int64(10), h.P50OfWindowMaxUS)
	assert.Equal(t, int64(90), h.MaxResponseUS)
	assert.Equal(t, uint64(500), h.Jobs)
	assert.Equal(t, uint64(50), h.DeadlineMisses)
	assert.Equal(t, int64(50_000_000), a.byName["high"].MaxResponseAt, "board time of the worst window")
}

// Events the board reports dropping (DR) are a gap like a sequence gap.
func TestDroppedIsAGap(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	feed(a, []step{
		{0, wire.EvRelease, tH, 0}, {0, wire.EvSwitch, tH, -1},
		{5, wire.EvDropped, -1, 3},
		{9, wire.EvEnd, tH, 9},
		{100, wire.EvRelease, tH, 0}, {100, wire.EvSwitch, tH, -1}, {102, wire.EvEnd, tH, 2}, {102, wire.EvSwitch, -1, tH},
	}, true)
	h := a.Tasks()["high"]
	assert.Equal(t, uint64(1), h.GapCut)
	assert.Equal(t, uint64(2), h.Jobs)
	assert.Equal(t, int64(9), h.MaxResponseUS)
	assert.Equal(t, uint64(1), a.Gaps)
}
