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

// BenchmarkOvernightSoak runs campaigns/overnight-soak.yaml end to end (96
// runs, 8 h of board time, each run scored against its reference run) as
// the CLI does, with and without storing records and traces (--out), in
// the same benchmark so the two figures are a same-run ratio. The figure
// is board-s/s/core: board seconds of the campaign (the target's, not
// counting the reference's) per wall second per core used.
func BenchmarkOvernightSoak(b *testing.B) {
	c, err := LoadCampaign("../campaigns/overnight-soak.yaml", Overrides{})
	if err != nil {
		b.Fatal(err)
	}
	board := float64(c.Runs()) * c.Duration.Seconds()
	for _, out := range []bool{false, true} {
		name := "no-out"
		if out {
			name = "out"
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				opt := Options{Parallel: runtime.GOMAXPROCS(0)}
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
		})
	}
}
