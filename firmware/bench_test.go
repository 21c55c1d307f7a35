package firmware

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// BenchmarkPathfinder runs one hour of Pathfinder board time at full trace
// (Baud 0), reading the UART as the sim target does, with the inversion
// faults armed every second under inheritance.
func BenchmarkPathfinder(b *testing.B) {
	const board = time.Hour
	p, _ := Lookup("pathfinder")
	buf := make([]byte, 64<<10)
	var events, bytes uint64
	b.ReportAllocs()
	for b.Loop() {
		bd, err := NewBoard(p, Config{Mutex: ProtoInherit, Trace: 2, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		bd.AdvanceTo(int64(p.BootDelay))
		for k := range 3600 {
			base := uint64(k) * 1e6
			bd.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeSchedule, ID: uint32(2 * k), At: base + 50000,
				Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLockHold, Task: pfAsiMet, Lock: pfBus, Extra: 20000}}))
			bd.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeSchedule, ID: uint32(2*k + 1), At: base + 95000,
				Fault: wire.FaultCmd{ID: 2, Kind: wire.FaultLoadBurst, Priority: 5, Length: 110000}}))
		}
		bd.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 9999, Duration: uint64(board / us)}))
		end := bd.Now() + int64(board)
		for {
			t, ok := bd.NextEvent()
			if !ok || t > end {
				break
			}
			bd.AdvanceTo(t)
			for {
				n := bd.Read(buf)
				if n == 0 {
					break
				}
				bytes += uint64(n)
			}
		}
		events += bd.events
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*board.Seconds()/wall, "board-s/s")
	b.ReportMetric(wall*1e9/float64(events), "ns/event")
	b.ReportMetric(float64(bytes)/wall/1e6, "MB/s")
}

// BenchmarkKernel is the kernel alone: no encoding, events to a hook.
func BenchmarkKernel(b *testing.B) {
	const board = time.Hour
	p, _ := Lookup("pathfinder")
	var events uint64
	b.ReportAllocs()
	for b.Loop() {
		bd, _ := NewBoard(p, Config{Mutex: ProtoInherit, Trace: 2, Seed: 1})
		bd.quiet = true
		bd.hook = func(wire.Event) {}
		bd.AdvanceTo(int64(p.BootDelay))
		bd.command(wire.Command{Type: wire.TypeStart, ID: 1, Duration: uint64(board / us)})
		bd.AdvanceTo(bd.Now() + int64(board))
		events += bd.events
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*board.Seconds()/wall, "board-s/s")
	b.ReportMetric(wall*1e9/float64(events), "ns/event")
}
