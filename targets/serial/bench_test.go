package serial_test

import (
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// block is blockFrames pre-encoded EV frames of the kinds a full trace
// sends, about 35 KB.
const blockFrames = 1024

func eventBlock() []byte {
	var b []byte
	kinds := []wire.EventKind{wire.EvRelease, wire.EvStart, wire.EvSwitch, wire.EvLock, wire.EvUnlock, wire.EvEnd}
	for i := range blockFrames {
		b = wire.AppendEvent(b, wire.Event{Seq: uint32(100000 + i), Time: uint64(1_250_000_000 + 37*i),
			Kind: kinds[i%len(kinds)], Task: int32(i % 6), Arg: int64(i % 5000)})
	}
	return b
}

// flood writes block to w blocks times.
func flood(w io.Writer, block []byte, blocks int) {
	for range blocks {
		if _, err := w.Write(block); err != nil {
			return
		}
	}
}

// BenchmarkPTYIngest measures telemetry ingest through a real PTY: a
// writer floods the master side with pre-encoded EV frames as fast as the
// kernel takes them, and the host reads them (a) raw, plain 64 KiB reads of
// the slave, and (b) through the serial target (go.bug.st/serial plus the
// deadline adapter) and the wire reader, every frame's CRC checked and its
// fields decoded. Both phases run in the same benchmark, back to back;
// it reports both rates, their ratio and allocations per frame.
func BenchmarkPTYIngest(b *testing.B) {
	block := eventBlock()
	blocks := max(1, b.N/blockFrames)
	frames := blocks * blockFrames
	total := int64(blocks * len(block))

	// (a) raw PTY rate.
	raw := func() time.Duration {
		p, err := boardserver.OpenPTY("")
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		f, err := os.OpenFile(p.Path, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 64<<10)
		start := time.Now()
		go flood(p.Master, block, blocks)
		var n int64
		for n < total {
			k, err := f.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			n += int64(k)
		}
		return time.Since(start)
	}

	// (b) through the serial target and the wire reader.
	var mallocs uint64
	ingest := func() time.Duration {
		p, err := boardserver.OpenPTY("")
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		tg := openPTY(b, p.Path, 0)
		defer tg.Close()
		r := wire.NewReader(tg)
		tg.SetReadDeadline(time.Now().Add(time.Minute))
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		go flood(p.Master, block, blocks)
		for got := 0; got < frames; got++ {
			f, err := r.Next()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Event(); err != nil {
				b.Fatal(err)
			}
		}
		d := time.Since(start)
		runtime.ReadMemStats(&ms1)
		mallocs = ms1.Mallocs - ms0.Mallocs
		if st := r.Stats(); st.BadCRC+st.Malformed+st.TooLong+st.Truncated+st.GarbageBytes > 0 {
			b.Fatalf("clean stream counted as damaged: %+v", st)
		}
		return d
	}

	b.ResetTimer()
	dRaw := raw()
	dIn := ingest()
	b.StopTimer()
	mb := float64(total) / 1e6
	rawRate, inRate := mb/dRaw.Seconds(), mb/dIn.Seconds()
	b.ReportMetric(rawRate, "raw-MB/s")
	b.ReportMetric(inRate, "ingest-MB/s")
	b.ReportMetric(inRate/rawRate, "ingest/raw")
	b.ReportMetric(float64(frames)/dIn.Seconds(), "frames/s")
	b.ReportMetric(float64(mallocs)/float64(frames), "allocs/frame")
	b.ReportMetric(0, "ns/op")
}
