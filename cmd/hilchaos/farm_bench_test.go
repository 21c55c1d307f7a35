package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/harness/tracelog"
)

// BenchmarkController32PTYBoards: one controller drives 32 `firmware
// serve --pty` boards at once (run --rigs), each running a task set whose
// full trace fills most of a 921600 baud line (testdata/heavy.yaml, about
// 86 KB/s; Pathfinder's makes about 6 KB/s). The boards are child
// processes; the figures are the controller's alone (this process):
// CPU per rig in % of one core, and peak live heap per rig. The reference
// runs (simulated, in this process) are included: they are part of what a
// controller does.
func BenchmarkController32PTYBoards(b *testing.B) {
	const rigs = 32
	dir := b.TempDir()
	heavy, err := filepath.Abs("testdata/heavy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var inv strings.Builder
	inv.WriteString("rigs:\n")
	var srvs []*server
	for i := range rigs {
		link := filepath.Join(dir, fmt.Sprintf("board-%d", i))
		srvs = append(srvs, serve(b, "--pty", "--profile", heavy, "--trace", "2", "--mutex", "inherit", "--link", link))
		fmt.Fprintf(&inv, "  - name: r%d\n    target: serial://%s\n", i, link)
	}
	defer func() {
		for _, s := range srvs {
			s.kill()
		}
	}()
	invPath := filepath.Join(dir, "rigs.yaml")
	camp := filepath.Join(dir, "heavy.yaml")
	if err := os.WriteFile(invPath, []byte(inv.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(camp, []byte(fmt.Sprintf(`name: heavy-load
target: sim://%[1]s
reference: sim://%[1]s
duration: 5s
trace: full
min_jobs: 1
checks:
  - resets.watchdog == 0
`, heavy)), 0o644); err != nil {
		b.Fatal(err)
	}
	if code, out, errs := hilchaos(b, "rigs", "check", invPath, "--wait", "2s"); code != 0 {
		b.Fatalf("rigs check: %d\n%s\n%s", code, out, errs)
	}
	var cpu, wall time.Duration
	var peak, wireBytes uint64
	for b.Loop() {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { peak = max(peak, samplePeak(stop)) })
		c0, w0 := cpuSelf(), time.Now()
		out := filepath.Join(dir, fmt.Sprint("out", b.N, time.Now().UnixNano()))
		code, stdout, errs := hilchaos(b, "run", camp, "--rigs", invPath, "--repeat", fmt.Sprint(rigs), "--out", out)
		wall += time.Since(w0)
		cpu += cpuSelf() - c0
		close(stop)
		wg.Wait()
		if code != 0 {
			b.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
		}
		b.StopTimer()
		traces, _ := filepath.Glob(filepath.Join(out, "traces", "*"))
		for _, tr := range traces {
			r, err := tracelog.Open(tr)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, r)
			r.Close()
			wireBytes += uint64(n)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(cpu.Seconds()/wall.Seconds()/rigs*100, "%core/rig")
	b.ReportMetric(cpu.Seconds()/wall.Seconds()*100, "%core-total")
	b.ReportMetric(float64(peak)/rigs/(1<<20), "MiB/rig")
	b.ReportMetric(wall.Seconds()/n, "wall-s/campaign")
	// What the boards delivered, over the 5 s of board time per run.
	b.ReportMetric(float64(wireBytes)/n/rigs/5/1000, "KB/s/rig")
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// samplePeak samples the live heap until stop closes, and returns its peak.
func samplePeak(stop chan struct{}) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
		select {
		case <-stop:
			runtime.KeepAlive(s)
			return peak
		case <-tick.C:
		}
	}
}
