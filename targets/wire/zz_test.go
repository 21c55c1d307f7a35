package wire

import "testing"

func BenchmarkZZAppendWire(b *testing.B) {
	var fs Frames
	t := uint64(5_000_000)
	for i := 0; i < 150; i++ {
		t += uint64(i*37%900 + 10)
		fs.AddEvent(Event{Seq: uint32(1000 + i), Time: t, Kind: EventKind(1 + i%5), Task: int32(i % 7), Arg: int64(i%3) * 1234}, 0)
	}
	var buf []byte
	for b.Loop() {
		buf = fs.AppendWire(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
