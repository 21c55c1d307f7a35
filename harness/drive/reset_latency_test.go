package drive

import (
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// BenchmarkResetDetectionPTY measures how long the harness takes to note a
// reset: from the moment a BOOT frame is written to the master side of a
// real PTY to the moment the session, reading the slave through the serial
// target and the wire reader, has counted the reset (the record's reset
// log). Both ends are stamped with the wall clock in this one process.
// Each iteration is one reset; it reports p50, p99 and max.
func BenchmarkResetDetectionPTY(b *testing.B) {
	p, err := boardserver.OpenPTY("")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	u, _ := url.Parse("serial://" + p.Path)
	spec, err := serial.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := serial.Open(u.String(), spec, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	s := newSession(tg, &Config{Timeouts: Timeouts{Boot: 5 * time.Second, Liveness: 3 * time.Second}, Trace: 1})

	boot := func(reason string, n uint32) []byte {
		f := wire.AppendBoot(nil, wire.Boot{Name: "bench", Version: "1", Build: "b", Reason: reason, BootCount: n, Uptime: 50000})
		f = wire.AppendTask(f, wire.TaskInfo{Index: 0, Name: "t0", Priority: 1, Period: 1000, Deadline: 1000})
		return wire.AppendTableEnd(f, 1, 0)
	}
	// Some telemetry before each reset, as in a run.
	var events []byte
	for i := range 50 {
		events = wire.AppendEvent(events, wire.Event{Seq: uint32(i), Time: uint64(1000 * i), Kind: wire.EvRelease, Task: 0})
	}
	pump := func(until func() bool) {
		for !until() {
			f, err := s.next(time.Now().Add(10 * time.Second))
			if err != nil {
				b.Fatal(err)
			}
			s.dispatch(f)
		}
	}
	if _, err := p.Master.Write(boot(wire.ReasonPowerOn, 1)); err != nil {
		b.Fatal(err)
	}
	pump(func() bool { return s.booted && s.tableDone })

	n := max(b.N, 200)
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := range n {
		if _, err := p.Master.Write(events); err != nil {
			b.Fatal(err)
		}
		frame := boot(wire.ReasonWatchdog, uint32(i+2))
		before := s.obs.ResetCount
		written := time.Now()
		if _, err := p.Master.Write(frame); err != nil {
			b.Fatal(err)
		}
		pump(func() bool { return s.obs.ResetCount > before })
		lat = append(lat, time.Since(written))
		pump(func() bool { return s.tableDone })
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / 1e3 }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(1), "max-µs")
	b.ReportMetric(float64(len(lat)), "resets")
	if s.obs.ResetKinds[ResetWatchdog] != n {
		b.Fatalf("counted %d watchdog resets, want %d", s.obs.ResetKinds[ResetWatchdog], n)
	}
}
