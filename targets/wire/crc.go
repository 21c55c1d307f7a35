package wire

import "encoding/binary"

// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR. Check value: CRC16("123456789") == 0x29B1.

const crcPoly = 0x1021

// crcTab[k][v] is the CRC register, starting from zero, after the byte v
// followed by k zero bytes. crcTab[0] is the classic byte-at-a-time table;
// the others let UpdateCRC16 fold eight bytes per step (slicing-by-8), so
// the dependency chain through the register is one step per 8 bytes.
var crcTab = func() (t [8][256]uint16) {
	for v := 0; v < 256; v++ {
		c := uint16(v) << 8
		for i := 0; i < 8; i++ {
			if c&0x8000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[0][v] = c
	}
	for k := 1; k < 8; k++ {
		for v := 0; v < 256; v++ {
			c := t[k-1][v]
			t[k][v] = c<<8 ^ t[0][c>>8]
		}
	}
	return t
}()

// CRC16 returns the CRC-16/CCITT-FALSE of p, the checksum of a frame
// computed over the bytes between '$' and '*'.
func CRC16(p []byte) uint16 { return UpdateCRC16(0xFFFF, p) }

// UpdateCRC16 continues a CRC-16/CCITT-FALSE computation over p, for data
// that arrives in pieces: UpdateCRC16(CRC16(a), b) == CRC16(a+b).
func UpdateCRC16(crc uint16, p []byte) uint16 {
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

const hexDigits = "0123456789ABCDEF"

// appendHex4 appends v as exactly four uppercase hex digits.
func appendHex4(dst []byte, v uint16) []byte {
	return append(dst, hexDigits[v>>12], hexDigits[v>>8&0xF], hexDigits[v>>4&0xF], hexDigits[v&0xF])
}

// unhex is 0..15 for '0'-'9' and 'A'-'F', 0xFF otherwise (lowercase is not
// accepted: the line format is uppercase only).
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// parseHex4 decodes exactly four uppercase hex digits.
func parseHex4(b []byte) (uint16, bool) {
	_ = b[3]
	h0, h1, h2, h3 := unhex[b[0]], unhex[b[1]], unhex[b[2]], unhex[b[3]]
	if (h0|h1|h2|h3)&0xF0 != 0 {
		return 0, false
	}
	return uint16(h0)<<12 | uint16(h1)<<8 | uint16(h2)<<4 | uint16(h3), true
}
