package firmware

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

func oneTask(ts ...TaskSpec) *Profile {
	return &Profile{Name: "t", Locks: []string{"m"}, Tasks: ts}
}

// find returns the events of kind (and task, unless anyTask) in order.
func (r *rec) find(kind wire.EventKind, task int32) []wire.Event {
	var out []wire.Event
	for _, e := range r.evs {
		if e.Kind == kind && (task == anyTask || e.Task == task) {
			out = append(out, e)
		}
	}
	return out
}

// goAt returns the board-clock µs of the run's GO event.
func (r *rec) goAt(t *testing.T) uint64 {
	g := r.find(wire.EvRun, anyTask)
	if len(g) == 0 {
		t.Fatal("no GO event")
	}
	return g[len(g)-1].Time
}

func TestDeadlineMissReportedAtTheDeadline(t *testing.T) {
	ts := periodic("a", 1, 10*ms, 0, fixed(7*ms))
	ts.Deadline = 5 * ms
	b, r := quietBoard(t, oneTask(ts), Config{Trace: 1})
	boot(b)
	goRun(b, 25*ms)
	g := r.goAt(t)
	dm, en := r.find(evDM, 0), r.find(evEN, 0)
	// The third job's deadline (25 ms) falls at the run's end: not reported.
	if len(dm) != 2 || dm[0].Time-g != 5000 || dm[0].Arg != 0 || dm[1].Time-g != 15000 || dm[1].Arg != 1 {
		t.Fatalf("DM %+v", dm)
	}
	if len(en) != 2 || en[0].Time-g != 7000 || en[0].Arg != 7000 {
		t.Fatalf("EN %+v", en)
	}
}

func TestOverrunJobsQueue(t *testing.T) {
	b, r := quietBoard(t, oneTask(periodic("a", 1, 10*ms, 0, fixed(15*ms))), Config{Trace: 1})
	boot(b)
	goRun(b, 100*ms)
	if n := len(r.find(wire.EvRelease, 0)); n != 10 {
		t.Fatalf("%d releases in 100 ms at 10 ms, want 10 (no skipping)", n)
	}
	en := r.find(evEN, 0)
	// Job k ends at 15(k+1) ms, released at 10k ms: response 15 + 5k ms.
	for k, e := range en {
		if want := int64(15000 + 5000*k); e.Arg != want {
			t.Fatalf("job %d response %d µs, want %d", k, e.Arg, want)
		}
	}
	if len(en) != 6 || r.dones != 1 {
		t.Fatalf("%d ends, %d DN", len(en), r.dones)
	}
}

// TestLockHoldOnCurrentSection: an LH fired while the task holds the lock
// lengthens the section in progress; one fired before it takes the lock
// waits for the next section.
func TestLockHoldOnCurrentSection(t *testing.T) {
	lo := periodic("lo", 1, 20*ms, 0, lockSeg("m"), fixed(5*ms), unlockSeg("m"), fixed(1*ms))
	b, r := quietBoard(t, oneTask(lo), Config{Trace: 1})
	boot(b)
	b.command(wire.Command{Type: wire.TypeStart, ID: 1, Duration: 40000})
	g := b.Now()
	b.AdvanceTo(g + int64(2*ms))
	b.command(wire.Command{Type: wire.TypeFire, ID: 2, Fault: wire.FaultCmd{ID: 7, Kind: wire.FaultLockHold, Task: 0, Lock: 0, Extra: 3000}})
	b.AdvanceTo(g + int64(12*ms))
	b.command(wire.Command{Type: wire.TypeFire, ID: 3, Fault: wire.FaultCmd{ID: 8, Kind: wire.FaultLockHold, Task: 0, Lock: 0, Extra: 4000}})
	b.AdvanceTo(g + int64(40*ms))
	g0 := r.goAt(t)
	fb, fe, ul := r.find(wire.EvFaultBegin, 0), r.find(wire.EvFaultEnd, 0), r.find(wire.EvUnlock, 0)
	if len(fb) != 2 || fb[0].Time-g0 != 2000 || fb[0].Arg != 7 || fb[1].Time-g0 != 20000 || fb[1].Arg != 8 {
		t.Fatalf("FB %+v", fb)
	}
	if len(ul) != 2 || ul[0].Time-g0 != 8000 || ul[1].Time-g0 != 29000 {
		t.Fatalf("UL %+v", ul)
	}
	if len(fe) != 2 || fe[0].Time != ul[0].Time || fe[1].Time != ul[1].Time || fe[1].Arg != 8 {
		t.Fatalf("FE %+v", fe)
	}
}

func TestConcurrentBursts(t *testing.T) {
	b, r := quietBoard(t, oneTask(periodic("a", 3, 100*ms, 10*ms, fixed(1*ms))), Config{Trace: 2})
	boot(b)
	sf(b, 0, wire.FaultCmd{ID: 1, Kind: wire.FaultLoadBurst, Priority: 2, Length: 4000})
	sf(b, 1*ms, wire.FaultCmd{ID: 2, Kind: wire.FaultLoadBurst, Priority: 5, Length: 2000})
	goRun(b, 20*ms)
	g := r.goAt(t)
	fb, fe := r.find(wire.EvFaultBegin, 1), r.find(wire.EvFaultEnd, 1)
	// Burst 2 preempts burst 1 at 1 ms and ends at 3 ms; burst 1 ends at 6 ms.
	if len(fb) != 2 || fb[0].Arg != 1 || fb[1].Time-g != 1000 || len(fe) != 2 ||
		fe[0].Arg != 2 || fe[0].Time-g != 3000 || fe[1].Arg != 1 || fe[1].Time-g != 6000 {
		t.Fatalf("FB %+v FE %+v", fb, fe)
	}
	// Switches between the two bursts are reported although both are "load".
	if cs := r.find(wire.EvSwitch, 1); len(cs) != 3 {
		t.Fatalf("CS to load %+v, want 3 (burst 1, burst 2, burst 1)", cs)
	}
}

func TestTraceZeroSummaries(t *testing.T) {
	ts := periodic("a", 1, 100*ms, 0, compute(1*ms, 9*ms))
	b, r := quietBoard(t, oneTask(ts), Config{Trace: 0, Seed: 4})
	boot(b)
	goRun(b, 3*time.Second)
	for _, e := range r.evs {
		if e.Kind != wire.EvRun {
			t.Fatalf("trace 0 sent %v", e.Kind)
		}
	}
	if len(r.sms) != 3 {
		t.Fatalf("%d SM in 3 s, want 3", len(r.sms))
	}
	for i, s := range r.sms {
		if s.Jobs != 10 || s.MaxResp < 1000 || s.MaxResp > 9000 || s.Misses != 0 || s.Seq != uint32(i+1) {
			t.Fatalf("SM %+v", s)
		}
	}
}

// TestWatchdogReset: a watchdog kicked too rarely expires; the board
// reboots, seq starts again, and the run does not resume.
func TestWatchdogReset(t *testing.T) {
	ts := periodic("k", 1, 100*ms, 0, fixed(1*ms))
	ts.KicksWatchdog = true
	p := oneTask(ts)
	p.Watchdog, p.BootDelay = 50*ms, 10*ms
	b, r := quietBoard(t, p, Config{Trace: 1})
	boot(b)
	goRun(b, time.Second)
	g := r.goAt(t)
	wx := r.find(evWX, anyTask)
	if len(wx) != 1 || wx[0].Time-g != 51000 || b.wdts != 1 || b.bootCount != 2 {
		t.Fatalf("WX %+v, %d resets, boot count %d", wx, b.wdts, b.bootCount)
	}
	if _, ok := b.NextEvent(); ok || r.dones != 0 {
		t.Fatal("board busy after the reset")
	}
	// The host re-arms it; this time the run is stopped before the expiry.
	n := len(r.evs)
	b.command(wire.Command{Type: wire.TypeStart, ID: 5})
	if r.evs[n].Seq != 0 || r.evs[n].Time != uint64(b.Now()-b.bootAt)/1000 || b.Now()-b.bootAt >= int64(time.Second) {
		t.Fatalf("first event after reboot %+v", r.evs[n])
	}
	b.AdvanceTo(b.Now() + int64(40*ms))
	b.command(wire.Command{Type: wire.TypeStop, ID: 6})
	b.AdvanceTo(b.Now() + int64(time.Second))
	if b.wdts != 1 || r.dones != 1 {
		t.Fatalf("after SP: %d resets, %d DN", b.wdts, r.dones)
	}
}
