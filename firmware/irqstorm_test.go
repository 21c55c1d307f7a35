package firmware

import (
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// An irq storm runs interrupt handlers above every task: a job computing
// through the storm finishes later by the handlers' CPU time, the storm
// begins and ends at its planned times with task -1, no context switch is
// reported for an interrupt, and a job that starts after the storm is not
// delayed.
func TestIRQStormTakesCPUFromTasks(t *testing.T) {
	const period, length = 20, 10000 // µs: an interrupt every 20 µs for 10 ms
	run := func(storm bool) (*rec, uint64) {
		b, r := quietBoard(t, oneTask(periodic("a", 3, 100*ms, 10*ms, fixed(30*ms))), Config{Trace: 2})
		boot(b)
		if storm {
			sf(b, 15*ms, wire.FaultCmd{ID: 7, Kind: wire.FaultIRQStorm, Priority: 2, Period: period, Length: length})
		}
		goRun(b, 250*ms)
		return r, r.goAt(t)
	}
	calm, _ := run(false)
	r, g := run(true)
	fb, fe := r.find(wire.EvFaultBegin, wire.NoTask), r.find(wire.EvFaultEnd, wire.NoTask)
	if len(fb) != 1 || fb[0].Arg != 7 || fb[0].Time-g != 15000 || len(fe) != 1 || fe[0].Arg != 7 || fe[0].Time-g != 25000 {
		t.Fatalf("FB %+v FE %+v, want fault 7 from 15 to 25 ms", fb, fe)
	}
	// 500 interrupts of 2 µs (no irq_handler in the profile): the first
	// job (10 to 40 ms) ends 1 ms later.
	handlers := int64(length/period) * int64(DefaultIRQHandler/us)
	ends, calmEnds := r.find(evEN, 0), calm.find(evEN, 0)
	if len(ends) != 3 || len(calmEnds) != 3 {
		t.Fatalf("EN %+v, calm %+v", ends, calmEnds)
	}
	if got := ends[0].Arg - calmEnds[0].Arg; got != handlers {
		t.Errorf("the job through the storm took %d µs longer, want %d", got, handlers)
	}
	if ends[1].Arg != calmEnds[1].Arg || ends[2].Arg != calmEnds[2].Arg {
		t.Errorf("jobs after the storm: %d and %d µs, want %d and %d as without it", ends[1].Arg, ends[2].Arg, calmEnds[1].Arg, calmEnds[2].Arg)
	}
	if cs, calmCS := r.count(wire.EvSwitch, anyTask), calm.count(wire.EvSwitch, anyTask); cs != calmCS {
		t.Errorf("%d context switches with the storm, %d without: interrupts are not switches", cs, calmCS)
	}
}

// Handlers under way when a job loses the CPU delay the job that gets it,
// not the one that left: a storm over a preemption costs the pair exactly
// the handlers' time.
func TestIRQStormAcrossAPreemption(t *testing.T) {
	p := oneTask(periodic("lo", 1, 100*ms, 0, fixed(20*ms)))
	p.Tasks = append(p.Tasks, periodic("hi", 5, 100*ms, 5*ms, fixed(5*ms)))
	p.IRQHandler = 10 * us // the profile's own handler time
	const h = 10
	run := func(storm bool) map[int32]int64 {
		b, r := quietBoard(t, p, Config{Trace: 2})
		boot(b)
		if storm {
			// 4 ms of storm, an interrupt every 40 µs, over hi's release at 5 ms.
			sf(b, 3*ms, wire.FaultCmd{ID: 1, Kind: wire.FaultIRQStorm, Priority: 0, Period: 40, Length: 4000})
		}
		goRun(b, 90*ms)
		return r.worst()
	}
	calm, w := run(false), run(true)
	// hi runs from 5 ms, inside 3 to 7 ms of storm: 50 of its 100
	// interrupts fall in hi's time (500 µs); lo bears the others and hi's.
	if d := w[1] - calm[1]; d != 50*h {
		t.Errorf("hi took %d µs longer, want %d", d, 50*h)
	}
	if d := w[0] - calm[0]; d != 100*h {
		t.Errorf("lo took %d µs longer, want %d (every handler of the storm)", d, 100*h)
	}
}

// The board refuses storms it cannot run, as the reference firmware does.
func TestIRQStormRefused(t *testing.T) {
	b, _ := quietBoard(t, oneTask(periodic("a", 3, 100*ms, 0, fixed(1*ms))), Config{})
	for _, f := range []wire.FaultCmd{
		{Kind: wire.FaultIRQStorm, Priority: 8, Period: 200, Length: 1000},
		{Kind: wire.FaultIRQStorm, Priority: -1, Period: 200, Length: 1000},
		{Kind: wire.FaultIRQStorm, Priority: 0, Period: 19, Length: 1000},
		{Kind: wire.FaultIRQStorm, Priority: 0, Period: 200, Length: 0},
	} {
		if r := b.checkFault(&f); r != "bad_fault" {
			t.Errorf("%+v: %q, want bad_fault", f, r)
		}
	}
	ok := wire.FaultCmd{Kind: wire.FaultIRQStorm, Priority: 7, Period: 20, Length: 1}
	if r := b.checkFault(&ok); r != "" {
		t.Errorf("%+v refused: %s", ok, r)
	}
}

// A profile file gives the handler time with irq_handler.
func TestIRQHandlerFromAProfileFile(t *testing.T) {
	p, err := parseProfile("s.yaml", []byte("name: s\nirq_handler: 26us\ntasks:\n  - name: t\n    priority: 1\n    period: 1ms\n    body: [{compute: 1us}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.IRQHandler != 26*us {
		t.Fatalf("irq_handler decoded as %v", p.IRQHandler)
	}
	b, _ := quietBoard(t, p, Config{})
	if b.irqHandler != 26000 {
		t.Fatalf("board handler %d ns", b.irqHandler)
	}
}
