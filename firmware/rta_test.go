package firmware

import (
	"fmt"
	"testing"
	"time"
)

// These tests pin the kernel to response-time analysis: with fixed
// execution times and release at the critical instant, the worst observed
// response time of every task equals the fixed point of
//
//	R = C + B + sum over higher-priority j of ceil((R - O_j) / T_j) * C_j
//
// where O_j is how much later than the analysed task j is first released
// (0 at a synchronous release) and B is the blocking, derived below from the
// critical-section lengths and the release offsets for each protocol.

// hpTask is one higher-priority interferer in the analysis.
type hpTask struct{ C, T, O time.Duration }

// rta iterates the response-time equation to its fixed point.
func rta(t *testing.T, c, b time.Duration, hp []hpTask) time.Duration {
	t.Helper()
	r := c + b
	for range 1000 {
		next := c + b
		for _, j := range hp {
			n := (r - j.O + j.T - 1) / j.T // ceil((R - O_j) / T_j)
			next += n * j.C
		}
		if next == r {
			return r
		}
		r = next
	}
	t.Fatalf("response-time iteration does not converge (C=%v B=%v)", c, b)
	return 0
}

func wcet(ts TaskSpec) time.Duration { return ts.WCET() }

// critical returns the length of ts's critical section on lock.
func critical(ts TaskSpec, lock string) time.Duration {
	var d time.Duration
	in := false
	for _, s := range ts.Body {
		switch {
		case s.Kind == SegLock && s.Lock == lock:
			in = true
		case s.Kind == SegUnlock && s.Lock == lock:
			in = false
		case s.Kind == SegCompute && in:
			d += s.Worst
		}
	}
	return d
}

// runRTA runs p for several hyperperiods and checks each task's worst
// observed response time against want[task].
func runRTA(t *testing.T, p *Profile, proto Protocol, run time.Duration, want map[string]time.Duration) {
	t.Helper()
	b, r := quietBoard(t, p, Config{Mutex: proto, Trace: 2, Seed: 1})
	boot(b)
	goRun(b, run)
	got := r.worst()
	for i, ts := range p.Tasks {
		w, ok := want[ts.Name]
		if !ok {
			continue
		}
		if g := time.Duration(got[int32(i)]) * us; g != w {
			t.Errorf("%v: %s worst response %v, analysis says %v", proto, ts.Name, g, w)
		}
	}
	if n := r.count(evDM, anyTask); n != 0 {
		t.Errorf("%v: %d deadline misses", proto, n)
	}
}

func TestRTANoLocks(t *testing.T) {
	a := periodic("a", 3, 5*ms, 0, fixed(1*ms))
	bb := periodic("b", 2, 12*ms, 0, fixed(2*ms))
	c := periodic("c", 1, 30*ms, 0, fixed(5*ms))
	p := &Profile{Name: "nolocks", Tasks: []TaskSpec{a, bb, c}}
	want := map[string]time.Duration{
		"a": rta(t, wcet(a), 0, nil),
		"b": rta(t, wcet(bb), 0, []hpTask{{wcet(a), a.Period, 0}}),
		"c": rta(t, wcet(c), 0, []hpTask{{wcet(a), a.Period, 0}, {wcet(bb), bb.Period, 0}}),
	}
	for _, proto := range []Protocol{ProtoNone, ProtoInherit, ProtoCeiling} {
		runRTA(t, p, proto, 600*ms, want) // 10 hyperperiods
	}
	if want["c"] <= wcet(c) {
		t.Fatalf("test set too easy: c sees no interference")
	}
}

// oneLockSet: lo takes the lock at time 0 (offset 0, body starts with the
// lock); hi and mid are released 1 µs later, while it is held.
func oneLockSet(midC time.Duration, periods [3]time.Duration) (*Profile, TaskSpec, TaskSpec, TaskSpec) {
	hi := periodic("hi", 3, periods[0], 1*us, fixed(1*ms), lockSeg("m"), fixed(1*ms), unlockSeg("m"), fixed(1*ms))
	mid := periodic("mid", 2, periods[1], 1*us, fixed(midC))
	lo := periodic("lo", 1, periods[2], 0, lockSeg("m"), fixed(3*ms), unlockSeg("m"), fixed(2*ms))
	return &Profile{Name: "onelock", Locks: []string{"m"}, Tasks: []TaskSpec{hi, mid, lo}}, hi, mid, lo
}

func TestRTAOneLock(t *testing.T) {
	p, hi, mid, lo := oneLockSet(4*ms, [3]time.Duration{10 * ms, 20 * ms, 40 * ms})
	// lo has run 1 µs of its critical section when hi and mid arrive. Under
	// inheritance hi waits for the rest of it, and mid too (lo runs at hi's
	// priority: push-through blocking). Under the immediate ceiling lo runs
	// at the lock's ceiling (hi's priority) from the lock on, so neither can
	// preempt it and both wait for the same rest. One lower critical section
	// either way.
	rest := critical(lo, "m") - hi.Offset
	for _, proto := range []Protocol{ProtoInherit, ProtoCeiling} {
		want := map[string]time.Duration{
			"hi":  rta(t, wcet(hi), rest, nil),
			"mid": rta(t, wcet(mid), rest, []hpTask{{wcet(hi), hi.Period, 0}}),
			// lo is never blocked; hi and mid arrive 1 µs after it.
			"lo": rta(t, wcet(lo), 0, []hpTask{{wcet(hi), hi.Period, hi.Offset}, {wcet(mid), mid.Period, mid.Offset}}),
		}
		runRTA(t, p, proto, 400*ms, want)
	}
}

// TestRTATwoLocks shows where the protocols differ: hi needs locks A and
// B; lo holds A and mid holds B when hi arrives. Inheritance makes hi wait
// for both critical sections in turn (chained blocking); under the ceiling
// lo runs at A's ceiling from time 0, so mid never gets to take B and hi
// waits for one critical section only.
func TestRTATwoLocks(t *testing.T) {
	hi := periodic("hi", 4, 20*ms, 2*us, fixed(1*ms), lockSeg("A"), fixed(1*ms), unlockSeg("A"),
		lockSeg("B"), fixed(1*ms), unlockSeg("B"), fixed(1*ms))
	mid := periodic("mid", 2, 40*ms, 1*us, lockSeg("B"), fixed(2*ms), unlockSeg("B"), fixed(1*ms))
	lo := periodic("lo", 1, 80*ms, 0, lockSeg("A"), fixed(3*ms), unlockSeg("A"), fixed(1*ms))
	p := &Profile{Name: "twolocks", Locks: []string{"A", "B"}, Tasks: []TaskSpec{hi, mid, lo}}
	csA, csB := critical(lo, "A"), critical(mid, "B")

	// Inheritance: lo ran [0, mid.Offset) in A, mid ran [mid.Offset,
	// hi.Offset) in B; hi waits for the rest of both.
	bInheritHi := (csA - mid.Offset) + (csB - (hi.Offset - mid.Offset))
	// mid is pushed aside while lo runs the rest of A at hi's priority.
	bMid := csA - mid.Offset
	// Ceiling: lo runs A at ceiling 4 from 0, nobody preempts it.
	bCeilingHi := csA - hi.Offset

	hpMid := []hpTask{{wcet(hi), hi.Period, hi.Offset - mid.Offset}}
	hpLo := []hpTask{{wcet(hi), hi.Period, hi.Offset}, {wcet(mid), mid.Period, mid.Offset}}
	runRTA(t, p, ProtoInherit, 800*ms, map[string]time.Duration{
		"hi":  rta(t, wcet(hi), bInheritHi, nil),
		"mid": rta(t, wcet(mid), bMid, hpMid),
		"lo":  rta(t, wcet(lo), 0, hpLo),
	})
	runRTA(t, p, ProtoCeiling, 800*ms, map[string]time.Duration{
		"hi":  rta(t, wcet(hi), bCeilingHi, nil),
		"mid": rta(t, wcet(mid), bMid, hpMid),
		"lo":  rta(t, wcet(lo), 0, hpLo),
	})
	if bCeilingHi >= bInheritHi {
		t.Fatalf("test set does not separate the protocols")
	}
}

// TestUnboundedInversion: with no protocol, mid runs while lo holds the
// lock hi waits for, so hi's blocking is the inheritance bound plus all of
// mid's execution, and grows with it.
func TestUnboundedInversion(t *testing.T) {
	for _, midC := range []time.Duration{4 * ms, 8 * ms, 16 * ms} {
		t.Run(fmt.Sprint(midC), func(t *testing.T) {
			p, hi, mid, lo := oneLockSet(midC, [3]time.Duration{40 * ms, 80 * ms, 160 * ms})
			bound := critical(lo, "m") - hi.Offset // the inheritance bound
			b, r := quietBoard(t, p, Config{Mutex: ProtoNone, Trace: 1, Seed: 1})
			boot(b)
			goRun(b, 480*ms)
			blocking := time.Duration(r.worst()[0])*us - wcet(hi)
			if blocking <= bound {
				t.Fatalf("blocking %v within the inheritance bound %v", blocking, bound)
			}
			if want := bound + wcet(mid); blocking != want {
				t.Fatalf("blocking %v, want bound %v + mid's %v", blocking, bound, wcet(mid))
			}
		})
	}
}
