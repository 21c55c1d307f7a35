package wire

import "encoding/binary"

// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR. Check value: CRC16("123456789") == 0x29B1.

const crcPoly = 0x1021

// crcTab[k][v] is the CRC register, starting from zero, after the byte v
// followed by k zero bytes. crcTab[0] is the classic byte-at-a-time table;
// the others let UpdateCRC16 fold 16 bytes per step (slicing-by-16), so the
// dependency chain through the register is one step per 16 bytes, and fold
// the last 2 to 15 bytes in one more step: a frame body (20 to 40 bytes)
// is two or three steps.
var crcTab = func() (t [16][256]uint16) {
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
	for k := 1; k < len(t); k++ {
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
//
// The register is linear in its input: n bytes d[0..n-1] with the register
// XORed into the first two fold into XOR over i of crcTab[n-1-i][d[i]].
func UpdateCRC16(crc uint16, p []byte) uint16 {
	t := &crcTab
	for len(p) >= 16 {
		v := binary.BigEndian.Uint64(p) ^ uint64(crc)<<48
		w := binary.BigEndian.Uint64(p[8:])
		crc = t[15][byte(v>>56)] ^ t[14][byte(v>>48)] ^ t[13][byte(v>>40)] ^ t[12][byte(v>>32)] ^
			t[11][byte(v>>24)] ^ t[10][byte(v>>16)] ^ t[9][byte(v>>8)] ^ t[8][byte(v)] ^
			t[7][byte(w>>56)] ^ t[6][byte(w>>48)] ^ t[5][byte(w>>40)] ^ t[4][byte(w>>32)] ^
			t[3][byte(w>>24)] ^ t[2][byte(w>>16)] ^ t[1][byte(w>>8)] ^ t[0][byte(w)]
		p = p[16:]
	}
	if n := len(p); n >= 2 {
		// All n lookups are independent: one step whatever n.
		x := t[n-1][p[0]^byte(crc>>8)] ^ t[n-2][p[1]^byte(crc)]
		for i := 2; i < n; i++ {
			x ^= t[n-1-i][p[i]]
		}
		return x
	}
	if len(p) == 1 {
		crc = crc<<8 ^ t[0][byte(crc>>8)^p[0]]
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
