package firmware

import (
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// BenchmarkKernelSoak is the kernel alone (no encoding, events to a hook)
// as campaigns/overnight-soak.yaml drives it: trace level 1, inheritance,
// and random lock holds and load bursts, about one every 3 s. It is the
// measure for the scheduler and the timer heap; the figure is ns per
// event let through to the hook.
func BenchmarkKernelSoak(b *testing.B) {
	const board = 10 * time.Minute
	p, _ := Lookup("pathfinder")
	var events uint64
	b.ReportAllocs()
	cpu0 := cpuNS()
	for b.Loop() {
		bd, _ := NewBoard(p, Config{Mutex: ProtoInherit, Trace: 1, Seed: 7})
		bd.quiet = true
		bd.hook = func(wire.Event) {}
		bd.AdvanceTo(int64(p.BootDelay))
		// A fixed pseudo-random plan: the same for every iteration.
		x := uint64(0x9e3779b97f4a7c15)
		at := uint64(0)
		for id := uint32(1); ; id++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			at += 500_000 + x%5_000_000 // µs
			if at >= uint64(board/time.Microsecond) || id > 1000 {
				break
			}
			f := wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: 5, Length: 30_000}
			if x&3 == 0 {
				f = wire.FaultCmd{ID: id, Kind: wire.FaultLockHold, Task: pfAsiMet, Lock: pfBus, Extra: 20_000}
			}
			bd.command(wire.Command{Type: wire.TypeSchedule, ID: id, At: at, Fault: f})
		}
		bd.command(wire.Command{Type: wire.TypeStart, ID: 9999, Duration: uint64(board / time.Microsecond)})
		bd.AdvanceTo(bd.Now() + int64(board))
		events += bd.events
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(wall*1e9/float64(events), "ns/event")
	b.ReportMetric(float64(cpuNS()-cpu0)/float64(events), "cpu-ns/event")
}

// cpuNS is the CPU time (user and system, all threads) this process has
// used, in ns: on a shared machine it depends much less on the neighbours
// than wall time.
func cpuNS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
