package wire

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
		// Byte loads, not two 8-byte ones: an encoder has just stored
		// these bytes one or two at a time, and a wide load of narrow
		// stores stalls until they reach the cache (a frame's CRC cost
		// twice as much right after encoding it).
		q := p[:16]
		crc = t[15][q[0]^byte(crc>>8)] ^ t[14][q[1]^byte(crc)] ^ t[13][q[2]] ^ t[12][q[3]] ^
			t[11][q[4]] ^ t[10][q[5]] ^ t[9][q[6]] ^ t[8][q[7]] ^
			t[7][q[8]] ^ t[6][q[9]] ^ t[5][q[10]] ^ t[4][q[11]] ^
			t[3][q[12]] ^ t[2][q[13]] ^ t[1][q[14]] ^ t[0][q[15]]
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
