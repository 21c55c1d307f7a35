package tracelog

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// eventList is about n bytes of EV frames shaped like a Pathfinder trace:
// times rising by a few hundred µs, a handful of tasks and event kinds.
func eventList(n int) []wire.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []wire.EventKind{wire.EvRelease, wire.EvRun, wire.EvLock, wire.EvUnlock}
	var evs []wire.Event
	t := uint64(0)
	for seq, size := uint32(0), 0; size < n; seq++ {
		t += uint64(rng.IntN(900) + 10)
		ev := wire.Event{Seq: seq, Time: t, Kind: kinds[rng.IntN(len(kinds))], Task: int32(rng.IntN(9)), Arg: int64(rng.IntN(3))}
		evs = append(evs, ev)
		size += wire.EventLen(ev)
	}
	return evs
}

// eventStream is the bytes of eventList(n).
func eventStream(n int) []byte {
	var b []byte
	for _, ev := range eventList(n) {
		b = wire.AppendEvent(b, ev)
	}
	return b
}

// BenchmarkWriter stores a wire stream in 4 KiB chunks (the size the sim's
// reads come in) at each candidate level: MB/s of wire bytes, and the
// compressed size as a fraction of the raw one. "frames" stores the same
// stream as the simulator hands it over, decoded (WriteFrames: a frame
// chunk each), at the level in use.
func BenchmarkWriter(b *testing.B) {
	data := eventStream(8 << 20)
	clock := time.Unix(0, 0)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	for _, lv := range []struct {
		name  string
		level int
	}{{"huffman-only", gzip.HuffmanOnly}, {"best-speed", gzip.BestSpeed}, {"default", gzip.DefaultCompression}} {
		b.Run(lv.name, func(b *testing.B) {
			defer func(old int) { Level = old }(Level)
			Level = lv.level
			path := filepath.Join(b.TempDir(), "t.wire.gz")
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w, err := Create(path, "sim://bench", now)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(data); i += 4096 {
					w.Write(data[i:min(len(data), i+4096)])
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fileSize(b, path))/float64(len(data)), "size/raw")
		})
	}
	b.Run("frames", func(b *testing.B) {
		evs := eventList(8 << 20)
		path := filepath.Join(b.TempDir(), "t.wire.gz")
		b.SetBytes(int64(len(data)))
		var fs wire.Frames
		for b.Loop() {
			w, err := Create(path, "sim://bench", now)
			if err != nil {
				b.Fatal(err)
			}
			fs.Reset()
			size := 0
			for _, ev := range evs {
				n := wire.EventLen(ev)
				fs.AddEvent(ev, n)
				if size += n; size >= 4096 {
					w.WriteFrames(&fs, size)
					fs.Reset()
					size = 0
				}
			}
			w.WriteFrames(&fs, size)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fileSize(b, path))/float64(len(data)), "size/raw")
	})
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
