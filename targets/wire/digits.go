package wire

import "math/bits"

// Decimal formatting into a slice with room, for the hot encoders (EV
// frames are written millions of times per second by the simulator).

const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

var pow10 = [20]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// decLen is the number of decimal digits of v (1 for 0).
func decLen(v uint64) int {
	n := (bits.Len64(v)*1233)>>12 + 1
	if v < pow10[n-1] {
		n--
	}
	return max(n, 1)
}

// putUint writes v in decimal at b[i:] and returns the index after it.
// b must have room for 20 bytes from i.
//
// Four digits at a time from the right, each group as two independent
// pairs: the divisions of one long chain of pairs wait for each other.
func putUint(b []byte, i int, v uint64) int {
	if v < 10 {
		b[i] = byte('0' + v)
		return i + 1
	}
	end := i + decLen(v)
	j := end
	for v >= 10000 {
		q := v / 10000
		r := uint32(v - q*10000)
		hi, lo := (r/100)*2, (r%100)*2
		j -= 4
		_ = b[j+3]
		b[j], b[j+1], b[j+2], b[j+3] = digits2[hi], digits2[hi+1], digits2[lo], digits2[lo+1]
		v = q
	}
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		j -= 2
		b[j], b[j+1] = digits2[r], digits2[r+1]
		v = q
	}
	if v >= 10 {
		r := v * 2
		b[j-2], b[j-1] = digits2[r], digits2[r+1]
	} else {
		b[j-1] = byte('0' + v)
	}
	return end
}

// putInt writes v in decimal (with '-' if negative) at b[i:]; room for 20 bytes.
func putInt(b []byte, i int, v int64) int {
	if v < 0 {
		b[i] = '-'
		return putUint(b, i+1, uint64(-v)) // -MinInt64 wraps to 1<<63 as wanted
	}
	return putUint(b, i, uint64(v))
}
