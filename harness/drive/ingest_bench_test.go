package drive

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// writerEnv makes the test binary a writer process: it copies the file the
// variable names to file descriptor 3 (a PTY's master side) and exits.
const writerEnv = "HILCHAOS_INGEST_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			os.Exit(2)
		}
		out := os.NewFile(3, "pty")
		for len(data) > 0 {
			n, err := out.Write(data[:min(len(data), 64<<10)])
			if err != nil {
				os.Exit(3)
			}
			data = data[n:]
		}
		time.Sleep(time.Second) // the reader drains the PTY before it closes
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pathfinderStream is what the reference board sends in d of board time at
// full trace after GO: banner, table, then events and summaries.
func pathfinderStream(tb testing.TB, d time.Duration) []byte {
	p, err := firmware.Lookup("pathfinder")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := firmware.NewBoard(p, firmware.Config{Mutex: firmware.ProtoInherit, Trace: 2, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 64<<10)
	drain := func() {
		for n := b.Read(buf); n > 0; n = b.Read(buf) {
			out = append(out, buf[:n]...)
		}
	}
	b.AdvanceTo(int64(100 * time.Millisecond))
	b.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 1, Duration: uint64(d / time.Microsecond)}))
	for t := 100 * time.Millisecond; t < d; t += 100 * time.Millisecond {
		b.AdvanceTo(int64(t))
		drain()
	}
	return out
}

// withGaps drops every every-th EV frame of stream.
func withGaps(stream []byte, every int) []byte {
	var out []byte
	n := 0
	for _, line := range bytes.SplitAfter(stream, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("$EV,")) {
			if n++; n%every == 0 {
				continue
			}
		}
		out = append(out, line...)
	}
	return out
}

// ingest feeds stream through a PTY from a writer process into a session
// and returns the CPU time it took this process:
// the serial target reads it, receive times are stamped, frames decoded,
// the run analysed and the raw stream stored (tracelog). pending commands
// wait for answers that never come (retry handling on the hot path).
func ingest(b *testing.B, stream []byte, pending int) (time.Duration, *Observation) {
	dir := b.TempDir()
	src := filepath.Join(dir, "stream")
	if err := os.WriteFile(src, stream, 0o600); err != nil {
		b.Fatal(err)
	}
	p, err := boardserver.OpenPTY("")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	u, _ := url.Parse("serial://" + p.Path + "?baud=921600")
	spec, err := serial.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := serial.Open(u.String(), spec, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	tw, err := tracelog.Create(filepath.Join(dir, "trace.wire.gz"), u.String(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer tw.Close()
	s := newSession(tg, &Config{Timeouts: Timeouts{Boot: time.Hour, Liveness: time.Hour, Retry: time.Hour}, Trace: 2, Raw: tw})
	for range pending {
		if _, err := s.command(wire.Command{Type: wire.TypePing}, "PG"); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+src)
	cmd.ExtraFiles = []*os.File{p.Master}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait() //nolint:errcheck // the writer's exit status says nothing here
	total := uint64(len(stream))
	deadline := time.Now().Add(time.Minute)
	// The clock starts at the first frame: not the writer's start-up.
	f, err := s.next(deadline)
	if err != nil {
		b.Fatal(err)
	}
	start := cpuTime()
	s.dispatch(f)
	for s.r.Stats().Bytes < total {
		f, err := s.next(deadline)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		s.dispatch(f)
	}
	d := cpuTime() - start
	s.stats()
	return d, s.obs
}

// cpuTime is the CPU time (user and system) this process has used: the
// reading side only, the writer being another process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestPTY measures the full ingest path a real run takes per
// chunk (read through the serial target, host receive time, decode,
// analysis, trace store) with the board's stream written into a PTY by
// another process, in MB/s of CPU time of the reading process (one core's
// worth, whatever the machine's other load); then the same stream with
// one EV in 100 lost (gap handling) and with 16 commands awaiting answers
// (retry handling), as a cost over the clean path, in the same run.
func BenchmarkIngestPTY(b *testing.B) {
	stream := pathfinderStream(b, 1800*time.Second)
	gappy := withGaps(stream, 100)
	var clean, lossy time.Duration
	var obs *Observation
	for b.Loop() {
		dc, o := ingest(b, stream, 0)
		dl, ol := ingest(b, gappy, maxUnanswered)
		if o.Telemetry.Frames == 0 || ol.Telemetry.Lost == 0 {
			b.Fatalf("clean %+v, lossy %+v", o.Telemetry, ol.Telemetry)
		}
		clean += dc
		lossy += dl
		obs = o
	}
	n := float64(b.N)
	mb := float64(len(stream)) / 1e6
	b.ReportMetric(mb/(clean.Seconds()/n), "clean-MB/s")
	b.ReportMetric(float64(len(gappy))/1e6/(lossy.Seconds()/n), "lossy-MB/s")
	// Cost per byte of the lossy path over the clean one.
	perByteClean := clean.Seconds() / float64(len(stream))
	perByteLossy := lossy.Seconds() / float64(len(gappy))
	b.ReportMetric((perByteLossy/perByteClean-1)*100, "retry+gap-cost-%")
	b.ReportMetric(float64(obs.Telemetry.Frames), "frames")
	b.ReportMetric(0, "ns/op")
}

// memTarget is a board stream in memory, on the wall clock.
type memTarget struct{ r *bytes.Reader }

func (m *memTarget) Read(p []byte) (int, error)      { return m.r.Read(p) }
func (m *memTarget) Write(p []byte) (int, error)     { return len(p), nil }
func (m *memTarget) Close() error                    { return nil }
func (m *memTarget) SetReadDeadline(time.Time) error { return nil }
func (m *memTarget) Name() string                    { return "mem" }

// memIngest runs data through the ingest path in memory and returns the
// CPU time it took.
func memIngest(b *testing.B, data []byte, pending int) time.Duration {
	tw, err := tracelog.Create(filepath.Join(b.TempDir(), "t.wire.gz"), "mem", time.Now)
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(&memTarget{bytes.NewReader(data)}, &Config{Timeouts: Timeouts{Boot: time.Hour, Liveness: time.Hour, Retry: time.Hour}, Trace: 2, Raw: tw})
	for range pending {
		if _, err := s.command(wire.Command{Type: wire.TypePing}, "PG"); err != nil {
			b.Fatal(err)
		}
	}
	start := cpuTime()
	for {
		f, err := s.next(time.Now().Add(time.Hour))
		if err != nil {
			break // the end of the stream
		}
		s.dispatch(f)
	}
	tw.Close()
	return cpuTime() - start
}

// BenchmarkIngestMemory is the ingest path of BenchmarkIngestPTY without
// the PTY (host receive time, decode, analysis, trace store), clean and
// with one EV in 100 lost and 16 commands awaiting answers, alternating in
// each iteration so both see the same machine. Figures are per second of
// this process's CPU time (the machine is shared).
func BenchmarkIngestMemory(b *testing.B) {
	stream := pathfinderStream(b, 600*time.Second)
	gappy := withGaps(stream, 100)
	var clean, lossy time.Duration
	for b.Loop() {
		clean += memIngest(b, stream, 0)
		lossy += memIngest(b, gappy, maxUnanswered)
	}
	n := float64(b.N)
	b.ReportMetric(float64(len(stream))/1e6/(clean.Seconds()/n), "clean-cpu-MB/s")
	b.ReportMetric(float64(len(gappy))/1e6/(lossy.Seconds()/n), "lossy-cpu-MB/s")
	perByteClean := clean.Seconds() / float64(len(stream))
	perByteLossy := lossy.Seconds() / float64(len(gappy))
	b.ReportMetric((perByteLossy/perByteClean-1)*100, "retry+gap-cost-%")
	b.ReportMetric(0, "ns/op")
}
