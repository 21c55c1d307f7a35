package analyze

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// pathfinderTrace runs the reference Pathfinder board (no mutex protocol,
// full trace, an infinitely fast link) for the given seconds of board time,
// with a lock hold on asi_met and a medium-priority load burst every second
// (so there are inversions and resets), and returns its table and its
// events, decoded, with their run times.
func pathfinderTrace(tb testing.TB, seconds int) (*wire.Table, []wire.Event, []int64) {
	tb.Helper()
	p, err := firmware.Lookup("pathfinder")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := firmware.NewBoard(p, firmware.Config{Trace: 2, Seed: 1, TxBuffer: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	drain := drainer(b, &out)
	drain(100e6) // boot
	var cmd []byte
	id := uint32(0)
	send := func(c wire.Command) {
		id++
		c.ID = id
		cmd = wire.AppendCommand(cmd[:0], c)
		b.Receive(cmd)
	}
	// One run of a second at a time, each with its two faults: the
	// inversion resets the board and the next second starts afresh.
	for s := 0; s < seconds; s++ {
		send(wire.Command{Type: wire.TypeSchedule, At: 50_000, Fault: wire.FaultCmd{ID: uint32(2 * s), Kind: wire.FaultLockHold, Task: 5, Lock: 0, Extra: 25_000}})
		send(wire.Command{Type: wire.TypeSchedule, At: 95_000, Fault: wire.FaultCmd{ID: uint32(2*s + 1), Kind: wire.FaultLoadBurst, Priority: 5, Length: 110_000}})
		send(wire.Command{Type: wire.TypeStart, Duration: 900_000})
		drain(b.Now() + 1e9)
	}
	r := wire.NewReader(&out)
	var tbl wire.Table
	var evs []wire.Event
	var ts []int64
	var origin int64
	runs, running := 0, false
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		switch f.Type {
		case wire.TypeTask:
			if runs == 0 {
				t, _ := f.Task()
				tbl.Tasks = append(tbl.Tasks, t)
			}
		case wire.TypeLock:
			if runs == 0 {
				l, _ := f.Lock()
				tbl.Locks = append(tbl.Locks, l)
			}
		case wire.TypeBoot, wire.TypeDone:
			running = false
		case wire.TypeEvent:
			ev, err := f.Event()
			if err != nil {
				continue
			}
			if ev.Kind == wire.EvRun {
				runs++
				running, origin = true, int64(ev.Time)
			}
			if !running {
				continue
			}
			evs = append(evs, ev)
			ts = append(ts, int64(runs-1)*1e6+int64(ev.Time)-origin)
		}
	}
	return &tbl, evs, ts
}

// BenchmarkAnalyze is the analyzer alone on pre-decoded events of the
// Pathfinder board at full trace: schedule rebuild, inversion detection,
// histograms. The figure is events/s.
func BenchmarkAnalyze(b *testing.B) {
	tbl, evs, ts := pathfinderTrace(b, 60)
	span := ts[len(ts)-1] + 1
	a := New()
	for i := uint32(1); i < 120; i += 2 {
		a.SetFaultPriority(i, 5)
	}
	a.SetTable(tbl)
	b.ReportAllocs()
	b.ResetTimer()
	var off int64
	for b.Loop() {
		// One minute of board time per iteration, on one growing run.
		a.Reset(off)
		a.SetTable(tbl)
		for i := range evs {
			a.Event(off+ts[i], &evs[i])
		}
		off += span
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(a.Inversions)/float64(b.N), "inversions/op")
}

// TestAnalyzerMemoryFlat feeds the same one-minute trace again and again:
// 10 minutes, then 8 hours of board time. The analyzer's live heap must not
// grow with the length of the run (HdrHistograms, no per-event lists).
func TestAnalyzerMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test in -short mode")
	}
	tbl, evs, ts := pathfinderTrace(t, 60)
	span := ts[len(ts)-1] + 1
	heapAfter := func(minutes int) (uint64, int) {
		a := New()
		for i := uint32(1); i < 120; i += 2 {
			a.SetFaultPriority(i, 5)
		}
		a.SetTable(tbl)
		for m := 0; m < minutes; m++ {
			off := int64(m) * span
			a.Reset(off) // each minute is a fresh boot on the run's axis
			a.SetTable(tbl)
			for i := range evs {
				a.Event(off+ts[i], &evs[i])
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(a)
		return ms.HeapAlloc, a.Inversions
	}
	short, invShort := heapAfter(10)
	long, invLong := heapAfter(480)
	t.Logf("live heap after 10 min: %.2f MiB (%d inversions); after 8 h: %.2f MiB (%d inversions); %d events per minute",
		float64(short)/(1<<20), invShort, float64(long)/(1<<20), invLong, len(evs))
	if invLong <= invShort {
		t.Fatalf("the 8-hour run should see more episodes: %d vs %d", invLong, invShort)
	}
	if float64(long) > 1.25*float64(short)+1<<20 {
		t.Fatalf("analyzer memory grows with run length: %d B after 10 min, %d B after 8 h", short, long)
	}
}

// drainer returns a function that runs b up to board time until (ns),
// appending everything it sends to out.
func drainer(b *firmware.Board, out *bytes.Buffer) func(until int64) {
	buf := make([]byte, 64<<10)
	read := func() {
		for n := b.Read(buf); n > 0; n = b.Read(buf) {
			out.Write(buf[:n])
		}
	}
	return func(until int64) {
		for {
			t, ok := b.NextEvent()
			if !ok || t > until {
				b.AdvanceTo(until)
				break
			}
			b.AdvanceTo(t)
			read()
		}
		read()
	}
}
