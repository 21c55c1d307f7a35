package analyze

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// soakFault is one firing of soakTrace's plan.
type soakFault struct {
	at  int64 // µs after GO
	cmd wire.FaultCmd
}

// soakTrace runs the reference Pathfinder board as
// campaigns/overnight-soak.yaml does (inheritance, trace level 1, a link
// that loses nothing) for the given seconds of board time in one run, with
// random lock holds on asi_met and priority-5 load bursts, about one every
// 3 s, and returns its table, its events with their run times, and the plan.
func soakTrace(tb testing.TB, seconds int) (*wire.Table, []wire.Event, []int64, []soakFault) {
	tb.Helper()
	p, err := firmware.Lookup("pathfinder")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := firmware.NewBoard(p, firmware.Config{Mutex: firmware.ProtoInherit, Trace: 1, Seed: 3, TxBuffer: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	drain := drainer(b, &out)
	drain(100e6) // boot
	var plan []soakFault
	x := uint64(0x9e3779b97f4a7c15)
	at := int64(0)
	for id := uint32(1); id <= 1000; id++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		at += 500_000 + int64(x%5_000_000)
		if at >= int64(seconds)*1e6 {
			break
		}
		f := wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: 5, Length: 30_000}
		if x&3 == 0 {
			f = wire.FaultCmd{ID: id, Kind: wire.FaultLockHold, Task: 5, Lock: 0, Extra: 20_000}
		}
		plan = append(plan, soakFault{at: at, cmd: f})
		b.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeSchedule, ID: id, At: uint64(at), Fault: f}))
	}
	b.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 5000, Duration: uint64(seconds) * 1e6}))
	drain(b.Now() + int64(seconds)*1e9 + 1e9)
	r := wire.NewReader(&out)
	var tbl wire.Table
	var evs []wire.Event
	var ts []int64
	var origin int64
	running := false
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		switch f.Type {
		case wire.TypeTask:
			t, _ := f.Task()
			tbl.Tasks = append(tbl.Tasks, t)
		case wire.TypeLock:
			l, _ := f.Lock()
			tbl.Locks = append(tbl.Locks, l)
		case wire.TypeEvent:
			ev, err := f.Event()
			if err != nil {
				continue
			}
			if ev.Kind == wire.EvRun {
				running, origin = true, int64(ev.Time)
			}
			if running {
				evs = append(evs, ev)
				ts = append(ts, int64(ev.Time)-origin)
			}
		}
	}
	return &tbl, evs, ts, plan
}

// BenchmarkAnalyzeSoak is the analyzer alone on pre-decoded events of one
// 5-minute run of the overnight soak (trace level 1: the running task is
// inferred), with the driver's calls: the plan's firings expected a few
// seconds ahead, load-burst priorities by lookup. The figure is ns per
// event.
func BenchmarkAnalyzeSoak(b *testing.B) {
	tbl, evs, ts, plan := soakTrace(b, 300)
	prio := func(id uint32) (int, bool) {
		if id == 0 || int(id) > len(plan) || plan[id-1].cmd.Kind != wire.FaultLoadBurst {
			return 0, false
		}
		return plan[id-1].cmd.Priority, true
	}
	b.ReportAllocs()
	b.ResetTimer()
	var inv, begun uint64
	cpu0 := cpuNS()
	for b.Loop() {
		a := New()
		a.SetLevel(1)
		a.SetBurstPriorities(prio)
		a.SetTable(tbl)
		next := 0
		for i := range evs {
			for next < len(plan) && plan[next].at < ts[i]+2_000_000 {
				var w int64
				if plan[next].cmd.Kind == wire.FaultLockHold {
					w = 250_000
				}
				a.ExpectFault(plan[next].cmd.ID, plan[next].at, w)
				next++
			}
			a.Event(ts[i], &evs[i])
		}
		a.Finish(ts[len(ts)-1])
		inv += uint64(a.Inversions)
		begun += a.Faults().Begun
		a.Release()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(len(evs))/float64(b.N), "ns/event")
	b.ReportMetric(float64(cpuNS()-cpu0)/float64(len(evs))/float64(b.N), "cpu-ns/event")
	b.ReportMetric(float64(begun)/float64(b.N), "begun/op")
	b.ReportMetric(float64(len(evs)), "events/op")
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
