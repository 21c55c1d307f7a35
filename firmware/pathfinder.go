package firmware

import "time"

const ms = time.Millisecond

func compute(best, worst time.Duration) Segment {
	return Segment{Kind: SegCompute, Best: best, Worst: worst}
}

func lockSeg(name string) Segment   { return Segment{Kind: SegLock, Lock: name} }
func unlockSeg(name string) Segment { return Segment{Kind: SegUnlock, Lock: name} }

// pathfinder models the 1997 Mars Pathfinder task set (a model, not flight
// data). The 1553 bus runs an 8 Hz cycle of 125 ms: bc_sched starts each
// cycle and checks that bc_dist finished the previous one (otherwise it does
// not kick the watchdog and the board resets); bc_dist shares the "bus"
// mutex with the low-priority ASI/MET task; comm_tx, comm_rx and imaging
// are the medium-priority load.
//
// Phasing, in the 1 s frame after GO (8 bus cycles, k = 0..7):
//
//	bc_sched  every cycle at  0 ms, kicks the watchdog (200 ms timeout)
//	bc_dist   every cycle at  2 ms, deadline 120 ms, holds the bus 1-2 ms
//	comm_tx   every cycle at  0 ms, 10-20 ms
//	comm_rx   even cycles at  0 ms, 10-25 ms
//	imaging   cycle 1 (125 ms), 60-100 ms
//	asi_met   even cycles at 90 ms, locks the bus at 91 ms for 3-6 ms
//
// Without faults the CPU is idle when ASI/MET takes the bus, so nothing
// preempts it there and bc_dist is never blocked for long. A lock-hold
// fault that stretches ASI/MET's critical section plus a medium-priority
// load burst that preempts it while it holds the bus (before bc_dist of the
// next cycle asks for the bus, with imaging released at 125 ms behind the
// burst) reproduce the inversion: with no protocol bc_dist misses its
// deadline and the watchdog resets the board; with inheritance or ceiling
// ASI/MET finishes its critical section at bc_dist's priority first.
func pathfinder() *Profile {
	return &Profile{
		Name:      "pathfinder",
		Version:   "1.0.0",
		Watchdog:  200 * ms,
		BootDelay: 50 * ms,
		// One storm interrupt on the C reference firmware under QEMU's
		// icount=5: its kernel timer pends IRQ 31 every period, and the
		// firmware starves (its watchdog resets it) from a 21 µs period,
		// not at 22 µs (cmd/hilchaos TestIRQStormDifferential). It was 26
		// while the firmware's one-shot timer reloaded itself and fired
		// again during a long handler.
		IRQHandler: 21 * time.Microsecond,
		Monitor:    &Monitor{Task: "bc_sched", Watched: "bc_dist"},
		Locks:      []string{"bus"},
		Tasks: []TaskSpec{
			{Name: "bc_sched", Priority: 10, Period: 125 * ms,
				Body: []Segment{compute(500*time.Microsecond, 1*ms)}},
			{Name: "bc_dist", Priority: 9, Period: 125 * ms, Deadline: 120 * ms, Offset: 2 * ms,
				Body: []Segment{compute(1*ms, 2*ms), lockSeg("bus"), compute(1*ms, 2*ms), unlockSeg("bus"), compute(500*time.Microsecond, 1*ms)}},
			{Name: "comm_tx", Priority: 6, Period: 125 * ms,
				Body: []Segment{compute(10*ms, 20*ms)}},
			{Name: "comm_rx", Priority: 5, Period: 250 * ms,
				Body: []Segment{compute(10*ms, 25*ms)}},
			{Name: "imaging", Priority: 4, Period: 1000 * ms, Offset: 125 * ms,
				Body: []Segment{compute(60*ms, 100*ms)}},
			{Name: "asi_met", Priority: 2, Period: 250 * ms, Offset: 90 * ms,
				Body: []Segment{compute(1*ms, 1*ms), lockSeg("bus"), compute(3*ms, 6*ms), unlockSeg("bus"), compute(1*ms, 1*ms)}},
		},
	}
}
