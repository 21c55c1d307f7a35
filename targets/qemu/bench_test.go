package qemu_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/qemu"
	_ "github.com/hilchaos/hilchaos/targets/sim" // the sim:// scheme, for the model's load
	"github.com/hilchaos/hilchaos/targets/wire"
)

// runLoad starts a run of dur board time at full trace on tg and reads it
// to DN. It returns the wall time from the GO event to DN and each task's
// share of the CPU (from the context-switch events).
func runLoad(tb testing.TB, tg targets.Target, dur time.Duration) (time.Duration, map[string]float64) {
	tb.Helper()
	clk := targets.ClockOf(tg)
	r := wire.NewReader(tg)
	var tbl wire.Table
	waiting, n := "the table (TE)", 0
	next := func() *wire.Frame {
		tg.SetReadDeadline(clk.Now().Add(30 * time.Second))
		f, err := r.Next()
		if err != nil {
			tb.Fatalf("%s: waiting for %s after %d frames: %v", tg.Name(), waiting, n, err)
		}
		n++
		return f
	}
	for f := next(); f.Type != wire.TypeTableEnd; f = next() {
		if f.Type == wire.TypeTask {
			ti, _ := f.Task()
			tbl.Tasks = append(tbl.Tasks, ti)
		}
	}
	for _, c := range []wire.Command{
		{Type: wire.TypeConfig, ID: 1, Key: "trace", Value: "2"},
		{Type: wire.TypeStart, ID: 2, Duration: uint64(dur.Microseconds())},
	} {
		if _, err := tg.Write(wire.AppendCommand(nil, c)); err != nil {
			tb.Fatal(err)
		}
	}
	waiting = "DN"
	cpu := map[int32]uint64{}
	var start time.Time
	var on int32 = -1
	var since uint64
	for {
		f := next()
		if f.Type == wire.TypeDone {
			break
		}
		if f.Type != wire.TypeEvent {
			continue
		}
		ev, err := f.Event()
		if err != nil {
			tb.Fatal(err)
		}
		switch ev.Kind {
		case wire.EvRun:
			start, since = clk.Now(), ev.Time
		case wire.EvSwitch:
			cpu[on] += ev.Time - since
			on, since = ev.Task, ev.Time
		}
	}
	wall := clk.Now().Sub(start)
	share := map[string]float64{}
	for i, us := range cpu {
		share[tbl.TaskName(i)] = float64(us) / float64(dur.Microseconds())
	}
	return wall, share
}

// BenchmarkQEMUPathfinderFullTrace: board seconds per wall second of the
// reference firmware at full trace under -icount shift=5,sleep=off (the
// target is 10x real time or more), and the CPU load per task beside the
// Go model's for the same task set. Measured: QEMU running the firmware,
// its UART through the PTY, and the wire Reader decoding every frame, from
// GO's run event to DN. Left out: QEMU's start and the boot, and the
// harness's driver, analysis, scoring and trace store (`hilchaos run`
// adds those; BenchmarkIngestMemory in harness/drive measures them per
// chunk of a real link's bytes, BenchmarkOvernightSoak in harness on the
// sim, whose frames arrive decoded).
func BenchmarkQEMUPathfinderFullTrace(b *testing.B) {
	const dur = 10 * time.Second
	elf := firmware(b, "inherit")
	var board, wall time.Duration
	var fw map[string]float64
	for range b.N {
		tg, err := qemu.Start("qemu://bench", qemu.Spec{Firmware: elf, Icount: 5})
		if err != nil {
			b.Fatal(err)
		}
		w, share := runLoad(b, tg, dur)
		tg.Close()
		board += dur
		wall += w
		fw = share
	}
	b.ReportMetric(board.Seconds()/wall.Seconds(), "board-s/wall-s")
	sim, err := targets.Open("sim://pathfinder?mutex=inherit", targets.Options{Seed: 1, Trace: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	_, model := runLoad(b, sim, dur)
	var names []string
	for n := range model {
		names = append(names, n)
	}
	sort.Strings(names)
	var s strings.Builder
	fmt.Fprintf(&s, "CPU share over %v, mutex inherit, no faults:\n  %-9s %9s %9s\n", dur, "task", "model", "firmware")
	for _, n := range names {
		fmt.Fprintf(&s, "  %-9s %8.2f%% %8.2f%%\n", n, 100*model[n], 100*fw[n])
	}
	b.Log(s.String())
}
