package tracelog

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

type sink struct{ events int }

func (s *sink) SetTable(*wire.Table)     {}
func (s *sink) Reset(int64)              {}
func (s *sink) Event(int64, *wire.Event) { s.events++ }

// FuzzReplay: a stored wire log that is damaged (inside its gzip stream)
// replays what it can or fails with an error; it never panics.
func FuzzReplay(f *testing.F) {
	f.Add([]byte(Magic + " sim://pathfinder\n\x01\x05$PG,1"))
	f.Add([]byte(Magic + " x\n\xff\xff\xff\xff\x0f"))
	f.Add([]byte(Magic + " sim://pathfinder\n\x01\x0b\x10\x00\x02\x00\xa0\x1f\x02\x02"))
	f.Add([]byte(MagicV1 + " sim://pathfinder\n\x01\x05$PG,1"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(body)
		w.Close()
		path := filepath.Join(t.TempDir(), "run-0.wire.gz")
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = Replay(path, &sink{})
	})
}

// FuzzFrameChunks: any frames, stored as frame chunks (the codec's state
// carried from one chunk to the next), read back as exactly the bytes the
// source would have sent; and a damaged frame chunk is an error, never a
// panic.
func FuzzFrameChunks(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\xff\xff\xff\xff\x80\x80"))
	f.Fuzz(func(t *testing.T, in []byte) {
		// next takes n bytes of the input as a number, high byte first.
		next := func(n int) uint64 {
			var v uint64
			for i := 0; i < n; i++ {
				v <<= 8
				if len(in) > 0 {
					v |= uint64(in[0])
					in = in[1:]
				}
			}
			return v
		}
		var chunks [][]wire.SourceFrame
		var lines []byte
		var want []byte
		for len(in) > 0 && len(chunks) < 64 {
			var list []wire.SourceFrame
			for k := next(1) % 8; k > 0 && len(in) > 0; k-- {
				sel := next(1)
				width := 1 + int(sel>>4)%8
				ev := wire.Event{Seq: uint32(next(min(width, 4))), Time: next(width), Kind: wire.EventKind(next(1)), Task: int32(next(min(width, 4))), Arg: int64(next(width))}
				switch sel % 3 {
				case 0:
					list = append(list, wire.SourceFrame{Ev: ev, N: int32(wire.EventLen(ev)), Event: true})
					want = wire.AppendEvent(want, ev)
				case 1:
					s := wire.Summary{Seq: ev.Seq, Time: ev.Time, Task: ev.Task, Jobs: uint32(next(4)), MaxResp: ev.Arg, Misses: uint32(next(4))}
					list = append(list, wire.SummaryFrame(s))
					want = wire.AppendSummary(want, s)
				default:
					n := int(next(1) % 40)
					line := in[:min(n, len(in))]
					list = append(list, wire.SourceFrame{Off: int32(len(lines)), N: int32(len(line))})
					lines = append(lines, line...)
					want = append(want, line...)
					in = in[len(line):]
				}
			}
			chunks = append(chunks, list)
		}
		var enc, dec frameCodec
		var got []byte
		for i, list := range chunks {
			stored := enc.append(nil, list, lines)
			var err error
			if got, err = dec.decode(got, stored); err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
			// Any cut of a stored chunk is an error or fewer frames,
			// never a panic.
			var cut frameCodec = dec
			_, _ = cut.decode(nil, stored[:len(stored)/2])
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("read back %q, want %q", got, want)
		}
	})
}
