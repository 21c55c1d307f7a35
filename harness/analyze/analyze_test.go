package analyze

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Hand-built traces: a three-task set around one lock, with every figure
// worked out by hand in the comments.

const (
	tH, tM, tL, tLoad = 0, 1, 2, 3
)

func table(protocol string) *wire.Table {
	return &wire.Table{
		Tasks: []wire.TaskInfo{
			{Index: 0, Name: "high", Priority: 9, Period: 100, Deadline: 100, WCET: 5},
			{Index: 1, Name: "medium", Priority: 5, Period: 100, Deadline: 100, WCET: 6},
			{Index: 2, Name: "low", Priority: 2, Period: 100, Deadline: 100, WCET: 6},
			{Index: 3, Name: LoadTask},
		},
		Locks: []wire.LockInfo{{Index: 0, Name: "bus", Protocol: protocol, Ceiling: 9}},
	}
}

type step struct {
	t    int64
	kind wire.EventKind
	task int32
	arg  int64
}

func feed(a *Analyzer, steps []step, withCS bool) {
	for _, s := range steps {
		if s.kind == wire.EvSwitch && !withCS {
			continue
		}
		ev := wire.Event{Time: uint64(s.t), Kind: s.kind, Task: s.task, Arg: s.arg}
		a.Event(s.t, &ev)
	}
}

// inversionTrace: low takes the bus, high preempts it and blocks on the bus,
// medium runs while high waits (the inversion), then low finishes its
// critical section and high gets the bus.
//
//	0  low released, runs          10 medium ends (resp 6), low runs
//	1  low locks bus               12 low unlocks, high locks, runs
//	2  high released, preempts     14 high unlocks
//	3  high blocks on bus, low     15 high ends (resp 13), low runs
//	4  medium released, preempts   16 low ends (resp 16), idle
var inversionTrace = []step{
	{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1},
	{1, wire.EvLock, tL, 0},
	{2, wire.EvRelease, tH, 0}, {2, wire.EvSwitch, tH, tL},
	{3, wire.EvBlock, tH, 0}, {3, wire.EvSwitch, tL, tH},
	{4, wire.EvRelease, tM, 0}, {4, wire.EvSwitch, tM, tL},
	{10, wire.EvEnd, tM, 6}, {10, wire.EvSwitch, tL, tM},
	{12, wire.EvUnlock, tL, 0}, {12, wire.EvLock, tH, 0}, {12, wire.EvSwitch, tH, tL},
	{14, wire.EvUnlock, tH, 0},
	{15, wire.EvEnd, tH, 13}, {15, wire.EvSwitch, tL, tH},
	{16, wire.EvEnd, tL, 16}, {16, wire.EvSwitch, -1, tL},
}

func TestInversionFullTrace(t *testing.T) {
	for _, withCS := range []bool{true, false} {
		name := "level2"
		if !withCS {
			name = "level1-inferred"
		}
		t.Run(name, func(t *testing.T) {
			a := New()
			if !withCS {
				a.SetLevel(1)
			}
			a.SetTable(table("none"))
			feed(a, inversionTrace, withCS)
			a.Finish(20)

			require.Equal(t, 1, a.Inversions)
			assert.Equal(t, []Episode{{StartUS: 4, LengthUS: 8, High: "high", Low: "low", Medium: "medium", Lock: "bus", MediumUS: 6,
				Shares: []Share{{Task: "medium", US: 6}}}}, a.Episodes)

			ts := a.Tasks()
			assert.Equal(t, int64(13), ts["high"].MaxResponseUS)
			assert.Equal(t, int64(6), ts["medium"].MaxResponseUS)
			assert.Equal(t, int64(16), ts["low"].MaxResponseUS)
			assert.Equal(t, int64(9), ts["high"].MaxBlockingUS, "blocked 3..12")
			assert.Equal(t, map[string]int64{"bus": 9}, ts["high"].BlockingByLockUS)
			assert.Equal(t, map[string]int64{"bus": 0}, ts["low"].BlockingByLockUS)
			assert.Equal(t, uint64(3), ts["low"].Preemptions, "by high at 2, by medium at 4, by high at 12 (after the unlock)")
			assert.Equal(t, uint64(0), ts["high"].Preemptions, "blocking is not a preemption")
			assert.Equal(t, int64(4), ts["high"].MaxExecUS, "2..3 and 12..15")
			assert.Equal(t, int64(6), ts["low"].MaxExecUS, "0..2, 3..4, 10..12, 15..16")
			assert.Equal(t, int64(6), ts["medium"].MaxExecUS)

			// The oracle: under no protocol high's blocking has no bound.
			bounds, finds := a.Oracle()
			b := boundOf(bounds, "high")
			assert.Equal(t, int64(-1), b.BlockingTermUS)
			assert.Equal(t, int64(-1), b.ResponseBoundUS)
			assert.Contains(t, b.Note, "protocol none")
			// low ran 4 µs inside its critical section: 1..2, 3..4, 10..12.
			assert.Equal(t, int64(4), a.byName["low"].lockCS[0])
			// medium: B = 0 (it takes no lock), R = 6 + ceil(R/100)*5 = 11.
			assert.Equal(t, int64(11), boundOf(bounds, "medium").ResponseBoundUS)
			assert.Empty(t, finds)
		})
	}
}

// Under inheritance low runs at high's priority while high waits, so the
// medium task released at 4 does not run until high is done: no episode.
//
//	3 high blocks, low inherits 9   6 low unlocks, high locks      9 high unlocks
//	10 high ends (resp 8)           10..16 medium (resp 12)        16..17 low ends (resp 17)
func TestNoInversionUnderInheritance(t *testing.T) {
	trace := []step{
		{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1},
		{1, wire.EvLock, tL, 0},
		{2, wire.EvRelease, tH, 0}, {2, wire.EvSwitch, tH, tL},
		{3, wire.EvBlock, tH, 0}, {3, wire.EvPriority, tL, 9}, {3, wire.EvSwitch, tL, tH},
		{4, wire.EvRelease, tM, 0},
		{6, wire.EvUnlock, tL, 0}, {6, wire.EvLock, tH, 0}, {6, wire.EvPriority, tL, 2}, {6, wire.EvSwitch, tH, tL},
		{9, wire.EvUnlock, tH, 0},
		{10, wire.EvEnd, tH, 8}, {10, wire.EvSwitch, tM, tH},
		{16, wire.EvEnd, tM, 12}, {16, wire.EvSwitch, tL, tM},
		{17, wire.EvEnd, tL, 17}, {17, wire.EvSwitch, -1, tL},
	}
	for _, withCS := range []bool{true, false} {
		a := New()
		if !withCS {
			a.SetLevel(1)
		}
		a.SetTable(table("inherit"))
		feed(a, trace, withCS)
		a.Finish(20)
		assert.Zero(t, a.Inversions, "withCS=%v", withCS)
		ts := a.Tasks()
		assert.Equal(t, int64(3), ts["high"].MaxBlockingUS)
		assert.Equal(t, int64(12), ts["medium"].MaxResponseUS)

		// low's critical section: 1..2 and 3..6 on the CPU = 4 µs. Under
		// inheritance it can block high (ceiling 9) and, by push-through,
		// medium: B = 4 for both; high: R = 5 + 4 = 9; W = 4.
		bounds, finds := a.Oracle()
		h := boundOf(bounds, "high")
		assert.Equal(t, "inherit", h.Protocol)
		assert.Equal(t, int64(4), h.BlockingTermUS)
		assert.Equal(t, int64(4), h.BlockingBoundUS)
		assert.Equal(t, int64(9), h.ResponseBoundUS)
		// medium: R = 6 + 4 + ceil(R/100)*5 = 15, observed 12.
		assert.Equal(t, int64(15), boundOf(bounds, "medium").ResponseBoundUS)
		assert.Equal(t, int64(0), boundOf(bounds, "low").BlockingTermUS)
		assert.Empty(t, finds, "withCS=%v", withCS)
	}
}

// A load burst at priority 5 is the medium task: its priority comes from
// the plan (SetFaultPriority), since the table declares the load task at 0.
func TestInversionByLoadBurst(t *testing.T) {
	trace := []step{
		{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1},
		{1, wire.EvLock, tL, 0},
		{2, wire.EvRelease, tH, 0}, {2, wire.EvSwitch, tH, tL},
		{3, wire.EvBlock, tH, 0}, {3, wire.EvSwitch, tL, tH},
		{5, wire.EvFaultBegin, tLoad, 7}, {5, wire.EvSwitch, tLoad, tL},
		{25, wire.EvFaultEnd, tLoad, 7}, {25, wire.EvSwitch, tL, tLoad},
		{27, wire.EvUnlock, tL, 0}, {27, wire.EvLock, tH, 0}, {27, wire.EvSwitch, tH, tL},
		{28, wire.EvUnlock, tH, 0}, {29, wire.EvEnd, tH, 27},
	}
	a := New()
	a.SetFaultPriority(7, 5)
	a.SetTable(table("none"))
	feed(a, trace, true)
	a.Finish(30)
	require.Equal(t, []Episode{{StartUS: 5, LengthUS: 22, High: "high", Low: "low", Medium: LoadTask, Lock: "bus", MediumUS: 20,
		Shares: []Share{{Task: LoadTask, US: 20}}}}, a.Episodes)

	// Without the priority the burst is not known to be medium.
	b := New()
	b.SetTable(table("none"))
	feed(b, trace, true)
	b.Finish(30)
	assert.Zero(t, b.Inversions)
}

// Response-time analysis against a task set whose answer is worked out:
// A (prio 3, T 10, C 2), B (prio 2, T 20, C 4), C (prio 1, T 50, C 10),
// with C holding an inherit lock of ceiling 2 for 3 µs of CPU.
//
//	A: B=0 (ceiling 2 < 3), R = 2
//	B: B=3, R = 4+3 + ceil(R/10)*2 = 9; W = 3 + ceil(3/10)*2 = 5
//	C: B=0, R = 10 + ceil(R/10)*2 + ceil(R/20)*4: 16 -> 18 -> 18
func TestOracleRTA(t *testing.T) {
	a := New()
	a.SetTable(&wire.Table{
		Tasks: []wire.TaskInfo{
			{Index: 0, Name: "A", Priority: 3, Period: 10, Deadline: 10, WCET: 2},
			{Index: 1, Name: "B", Priority: 2, Period: 20, Deadline: 20, WCET: 4},
			{Index: 2, Name: "C", Priority: 1, Period: 50, Deadline: 50, WCET: 10},
		},
		Locks: []wire.LockInfo{{Index: 0, Name: "m", Protocol: "inherit", Ceiling: 2}},
	})
	feed(a, []step{
		{0, wire.EvRelease, 2, 0}, {0, wire.EvSwitch, 2, -1},
		{1, wire.EvLock, 2, 0}, {4, wire.EvUnlock, 2, 0},
		{4, wire.EvRelease, 1, 0}, {4, wire.EvSwitch, 1, 2},
		{5, wire.EvBlock, 1, 0}, // never granted: not needed for the bound
	}, true)
	// B also takes the lock (it blocked on it).
	bounds, _ := a.Oracle()
	assert.Equal(t, int64(2), boundOf(bounds, "A").ResponseBoundUS)
	assert.Equal(t, int64(0), boundOf(bounds, "A").BlockingTermUS)
	b := boundOf(bounds, "B")
	assert.Equal(t, int64(3), b.BlockingTermUS)
	assert.Equal(t, int64(5), b.BlockingBoundUS)
	assert.Equal(t, int64(9), b.ResponseBoundUS)
	assert.True(t, b.Schedulable)
	assert.Equal(t, int64(18), boundOf(bounds, "C").ResponseBoundUS)

	// Ceiling: one critical section; same numbers here (one lock, one user).
	a.locks[0].Protocol = "ceiling"
	bounds, _ = a.Oracle()
	assert.Equal(t, "ceiling", boundOf(bounds, "B").Protocol)
	assert.Equal(t, int64(3), boundOf(bounds, "B").BlockingTermUS)
}

// Observations above the bounds are findings "outside the declared model".
func TestOracleFindings(t *testing.T) {
	a := New()
	a.SetTable(table("inherit"))
	// medium runs 9 µs in one job (declared WCET 6) and responds in 9.
	feed(a, []step{
		{0, wire.EvRelease, tM, 0}, {0, wire.EvSwitch, tM, -1},
		{9, wire.EvEnd, tM, 9}, {9, wire.EvSwitch, -1, tM},
		// high waits 50 µs for a lock low holds, with low's critical section
		// only 2 µs on the CPU (it was off the CPU, outside the model).
		{10, wire.EvRelease, tL, 0}, {10, wire.EvSwitch, tL, -1},
		{11, wire.EvLock, tL, 0},
		{12, wire.EvRelease, tH, 0}, {12, wire.EvSwitch, tH, tL},
		{13, wire.EvBlock, tH, 0}, {13, wire.EvSwitch, tL, tH},
		{14, wire.EvSwitch, -1, tL},
		{62, wire.EvSwitch, tL, -1},
		{63, wire.EvUnlock, tL, 0}, {63, wire.EvLock, tH, 0}, {63, wire.EvSwitch, tH, tL},
		{64, wire.EvUnlock, tH, 0}, {65, wire.EvEnd, tH, 53},
	}, true)
	bounds, finds := a.Oracle()
	assert.Equal(t, int64(3), boundOf(bounds, "high").BlockingTermUS)
	byKey := map[string]Finding{}
	for _, f := range finds {
		byKey[f.Task+"."+f.Metric] = f
	}
	require.Contains(t, byKey, "medium.exec_us")
	assert.Equal(t, int64(9), byKey["medium.exec_us"].ObservedUS)
	assert.Equal(t, int64(1), byKey["medium.exec_us"].Count)
	require.Contains(t, byKey, "high.blocking_us")
	assert.Equal(t, int64(50), byKey["high.blocking_us"].ObservedUS)
	assert.Equal(t, int64(65), byKey["high.blocking_us"].AtUS)
	require.Contains(t, byKey, "high.response_us")
	assert.True(t, strings.Contains(byKey["high.response_us"].Message, "above the analytic bound"), byKey["high.response_us"].Message)
}

// Recovery: from the reset to the end of the first bus cycle (every task of
// the shortest period finished a job).
func TestRecovery(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	a.Reset(1000)
	a.SetTable(table("none"))
	feed(a, []step{
		{1100, wire.EvRelease, tH, 0}, {1100, wire.EvRelease, tM, 0}, {1100, wire.EvRelease, tL, 0},
		{1105, wire.EvEnd, tH, 5}, {1111, wire.EvEnd, tM, 11}, {1150, wire.EvEnd, tL, 50},
	}, false)
	a.Reset(5000)
	assert.Equal(t, []int64{150, -1}, a.Recoveries())
}

func TestResponseHistBins(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	for i := int64(1); i <= 1000; i++ {
		ev := wire.Event{Kind: wire.EvEnd, Task: tM, Arg: i}
		a.Event(i, &ev)
	}
	hist := a.Tasks()["medium"].ResponseHist
	require.NotEmpty(t, hist)
	assert.LessOrEqual(t, len(hist), histBins)
	var n int64
	for i, b := range hist {
		n += b.Count
		if i > 0 {
			assert.Greater(t, b.LeUS, hist[i-1].LeUS)
		}
	}
	assert.Equal(t, int64(1000), n)
	assert.Equal(t, int64(1000), hist[len(hist)-1].LeUS)
}

func boundOf(bs []Bound, task string) Bound {
	for _, b := range bs {
		if b.Task == task {
			return b
		}
	}
	return Bound{Task: "missing"}
}

// A wait a reset cuts short still counts towards the worst blocking.
func TestWaitCutByReset(t *testing.T) {
	a := New()
	a.SetTable(table("none"))
	feed(a, []step{
		{0, wire.EvRelease, tL, 0}, {0, wire.EvSwitch, tL, -1}, {1, wire.EvLock, tL, 0},
		{2, wire.EvRelease, tH, 0}, {2, wire.EvSwitch, tH, tL}, {3, wire.EvBlock, tH, 0}, {3, wire.EvSwitch, tL, tH},
	}, true)
	a.Reset(200)
	h := a.Tasks()["high"]
	assert.Equal(t, int64(197), h.MaxBlockingUS)
	assert.Equal(t, map[string]int64{"bus": 197}, h.BlockingByLockUS)
	assert.Equal(t, int64(198), h.MaxResponseUS, "the killed job waited from its release")
}
