package wire

import "testing"
import "encoding/binary"

var _ = binary.BigEndian

func updateOld(crc uint16, p []byte) uint16 {
	t := &crcTab
	for len(p) >= 8 {
		v := binary.BigEndian.Uint64(p) ^ uint64(crc)<<48
		crc = t[7][byte(v>>56)] ^ t[6][byte(v>>48)] ^ t[5][byte(v>>40)] ^ t[4][byte(v>>32)] ^
			t[3][byte(v>>24)] ^ t[2][byte(v>>16)] ^ t[1][byte(v>>8)] ^ t[0][byte(v)]
		p = p[8:]
	}
	for _, c := range p {
		crc = crc<<8 ^ t[0][byte(crc>>8)^c]
	}
	return crc
}

func BenchmarkCRCOld(b *testing.B) {
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
		sum ^= updateOld(0xffff, bodies[i&3])
	}
	_ = sum
}
