package harness

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOvernightSoak runs campaigns/overnight-soak.yaml end to end as
// `hilchaos run` does (Execute with --parallel at the number of cores): 96
// runs of 5 minutes, 8 h of board time on the board under test
// (sim://pathfinder), each run also driven on the reference board (a
// second simulated board, same plan) and scored against it. Everything on
// that path is measured: the simulated firmware and its UART, the Reader
// and driver, fault upload, analysis, scoring, and with "out" the trace
// store (one gzip log per run, every frame of the board under test
// encoded in it, synced with its directory entry) and the record store
// (runs.jsonl, each record synced after its trace, the records ready
// together with one sync). Left out: loading the campaign file (once,
// before timing), printing progress and the summary, and the process's
// start.
//
// The simulator hands its frames to the Reader decoded (wire.FrameSource,
// as `hilchaos run` does); "out,wire=bytes" is "out" with both boards at
// wire=bytes, where every frame is encoded, and decoded and CRC-checked by
// the host, as on a real link: the cost of that path, same records and
// traces. All three run in the same benchmark, so their figures are a
// same-run comparison.
//
// Figures, all board seconds of the board under test (the campaign's 8 h;
// the reference's board time is not counted, its cost is):
//
//   - board-s/cpu-s: per second of this process's CPU time (user and
//     system, every thread: the collector and the reference runs too).
//     The headline: it does not depend on what else the machine runs.
//   - board-s/s/core: per wall second and per core used (GOMAXPROCS).
//   - sim-s/cpu-s: board seconds simulated, the reference's included (twice
//     the campaign's), per CPU second: the simulator's own throughput.
func BenchmarkOvernightSoak(b *testing.B) {
	c, err := LoadCampaign("../campaigns/overnight-soak.yaml", Overrides{})
	if err != nil {
		b.Fatal(err)
	}
	if !c.Scored() {
		b.Fatal("overnight-soak has no reference: the figures assume one run on each board")
	}
	board := float64(c.Runs()) * c.Duration.Seconds()
	byBytes := *c
	byBytes.Target, byBytes.Reference = c.Target+"&wire=bytes", c.Reference+"&wire=bytes"
	for _, v := range []struct {
		name string
		out  bool
		c    *Campaign
	}{{"no-out", false, c}, {"out", true, c}, {"out,wire=bytes", true, &byBytes}} {
		out, c := v.out, v.c
		b.Run(v.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				opt := Options{Parallel: DefaultParallel()}
				if out {
					st, err := OpenStore(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					opt.Store = st
				}
				sum, err := Execute(context.Background(), c, opt)
				if err != nil {
					b.Fatal(err)
				}
				if len(sum.Runs) != c.Runs() {
					b.Fatalf("%d runs, want %d", len(sum.Runs), c.Runs())
				}
				if opt.Store != nil {
					opt.Store.Close()
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
			b.ReportMetric(board/sec/float64(runtime.GOMAXPROCS(0)), "board-s/s/core")
			// On a shared machine wall time depends on the neighbours;
			// process CPU time (user+system) does much less.
			b.ReportMetric(board/cpu, "board-s/cpu-s")
			b.ReportMetric(2*board/cpu, "sim-s/cpu-s")
		})
	}
}
