package harness

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

// benchCampaign is the Pathfinder campaign at full trace with its faults,
// lengthened to d of board time.
func benchCampaign(b *testing.B, d time.Duration) *Campaign {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: d, Target: "sim://pathfinder?mutex=inherit"})
	if err != nil {
		b.Fatal(err)
	}
	c.Trace = 2
	return c
}

// driveSim runs plan on a fresh simulated board with analysis on.
func driveSim(b *testing.B, c *Campaign, p RunPlan) *Observation {
	t, err := targets.Open(c.Target, targets.Options{Seed: p.Seed, Trace: c.Trace})
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	obs, err := driveRun(context.Background(), t, c, p, nil, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	return obs
}

// BenchmarkSimPathfinder measures the whole chain on the simulated board:
// model, UART, the frames handed to the Reader (decoded: wire.FrameSource;
// no trace is stored, so no frame is encoded), fault upload and analysis,
// for one hour of board time per iteration. The figure that matters is
// virtual-s/s: board seconds per wall second (target: 10,000 or more).
func BenchmarkSimPathfinder(b *testing.B) {
	const d = time.Hour
	c := benchCampaign(b, d)
	p := PlanRun(c, 0)
	b.ReportAllocs()
	b.ResetTimer()
	var frames uint64
	for b.Loop() {
		obs := driveSim(b, c, p)
		frames = obs.Telemetry.Frames
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(d.Seconds()/sec, "virtual-s/s")
	b.ReportMetric(float64(frames)/sec, "frames/s")
}

// peakHeap runs f while sampling the live heap, and returns the peak above
// what was live before f started. The collector runs at GOGC=5 meanwhile,
// so that the live-heap figure (measured at each collection) follows the
// program closely instead of the collector's pacing.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak - min(peak, base)
}

// BenchmarkSimMemory compares a 10-minute and an 8-hour run (board time):
// the peak heap that driving and analysing the run adds on top of its plan
// (streaming analysis keeps it flat; the firings are generated as the run
// goes, and the record keeps the first MaxFaultLog of them), and the plan
// itself, which no longer holds any firing.
func BenchmarkSimMemory(b *testing.B) {
	for _, d := range []time.Duration{10 * time.Minute, time.Hour, 8 * time.Hour} {
		b.Run(d.String(), func(b *testing.B) {
			c := benchCampaign(b, d)
			var peak, plan uint64
			for b.Loop() {
				var p RunPlan
				plan = peakHeap(func() { p = PlanRun(c, 0) })
				peak = max(peak, peakHeap(func() { driveSim(b, c, p) }))
			}
			b.ReportMetric(float64(peak)/(1<<20), "run-peak-MiB")
			b.ReportMetric(float64(plan)/(1<<20), "plan-MiB")
		})
	}
}
