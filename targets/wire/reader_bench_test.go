package wire

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkReaderEvents decodes a 4 MiB in-memory stream of EV frames:
// framing, CRC, field split and Frame.Event for each frame.
func BenchmarkReaderEvents(b *testing.B) {
	stream := eventStream(4 << 20)
	nframes := bytes.Count(stream, []byte("\n"))
	br := bytes.NewReader(stream)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var sum uint64
	r := NewReader(br)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		br.Reset(stream)
		r.Reset(br)
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			ev, err := f.Event()
			if err != nil {
				b.Fatal(err)
			}
			sum += ev.Time
		}
		if r.Stats().Frames != uint64(nframes) {
			b.Fatalf("%d frames, want %d", r.Stats().Frames, nframes)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(nframes)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(len(stream))/float64(nframes), "B/frame")
	_ = sum
}

// BenchmarkFrameEvent is Frame.Event alone on an already split frame.
func BenchmarkFrameEvent(b *testing.B) {
	var f Frame
	line := AppendEvent(nil, Event{Seq: 123456, Time: 98765432101, Kind: EvEnd, Task: 3, Arg: 31250})
	if err := ParseFrame(line, &f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sum uint64
	for i := 0; i < b.N; i++ {
		ev, err := f.Event()
		if err != nil {
			b.Fatal(err)
		}
		sum += ev.Time
	}
	_ = sum
}

// BenchmarkParseFrame is CRC check and field split of one EV line.
func BenchmarkParseFrame(b *testing.B) {
	var f Frame
	line := AppendEvent(nil, Event{Seq: 123456, Time: 98765432101, Kind: EvEnd, Task: 3, Arg: 31250})
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := ParseFrame(line, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendEvent encodes one typical EV frame into a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	buf := make([]byte, 0, MaxFrame)
	ev := Event{Seq: 123456, Time: 98765432101, Kind: EvEnd, Task: 3, Arg: 31250}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ev.Seq = uint32(i)
		buf = AppendEvent(buf[:0], ev)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkCRC16 is the checksum of frame bodies of typical lengths.
func BenchmarkCRC16(b *testing.B) {
	var bodies [][]byte
	for _, ev := range []Event{
		{Seq: 76, Time: 686690, Kind: EvEnd, Task: 1, Arg: 4363},
		{Seq: 123456, Time: 98765432101, Kind: EvEnd, Task: 3, Arg: 31250},
		{Seq: 82, Time: 806093, Kind: EvWatchdogKick, Task: 0},
		{Seq: 84, Time: 808713, Kind: EvLock, Task: 1},
	} {
		line := AppendEvent(nil, ev)
		bodies = append(bodies, line[1:len(line)-6])
	}
	var sum uint16
	for i := 0; b.Loop(); i++ {
		sum ^= CRC16(bodies[i&3])
	}
	_ = sum
}
