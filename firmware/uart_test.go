package firmware

import (
	"strconv"
	"testing"
)

// digits counts the decimal digits the UART's EV frame lengths rely on,
// and the next power of ten, up to the largest uint64.
func TestDigits(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 11, 99, 100, 999_999, 1_000_000, 1<<63 - 1, 1e19 - 1, 1e19, 1<<64 - 1} {
		n, next := digits(v)
		want := len(strconv.FormatUint(v, 10))
		if n != want {
			t.Errorf("digits(%d) = %d, want %d", v, n, want)
		}
		if want < 20 && next != pow10(want) || want == 20 && next != 1<<64-1 {
			t.Errorf("digits(%d): next %d", v, next)
		}
	}
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
