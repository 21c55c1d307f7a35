package drive

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// A host clock running 100 ppm fast against the board, and 2 ms behind it
// from the first frame: the fit finds both, on a clock the test sets.
func TestHostClockFitsDriftAndOffset(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := &fixedClock{t0}
	stamp := &stampReader{r: strings.NewReader(strings.Repeat("x", 1000)), clk: clk, start: t0}
	h := newHostClock(stamp)
	buf := make([]byte, 1)
	for i := range 1000 {
		board := uint64(i) * 10_000 // a frame every 10 ms of board time
		clk.t = t0.Add(2*time.Millisecond + time.Duration(float64(board)*1.0001)*time.Microsecond)
		_, err := stamp.Read(buf) // one chunk per frame
		require.NoError(t, err)
		h.frame(board)
	}
	d := h.result()
	require.NotNil(t, d)
	require.EqualValues(t, 1000, d.Frames)
	require.InDelta(t, 100, d.DriftPPM, 0.5)
	require.EqualValues(t, 2000, d.OffsetUS)
	require.InDelta(t, 0, d.JitterUS, 16) // the drift inside a bucket of 16 frames: at most 16 µs
}

// A board whose clock is the host's own, rebooting every second, seen
// through a link that delivers in batches with up to 3 ms of varying delay
// (ser2net, a USB adapter), and a host that reads 20 ms late throughout
// 150 ms of every boot (it was busy): the drift stays near 0, whether or
// not the driver reports the reboots.
func TestHostClockResetsAndJitter(t *testing.T) {
	for _, told := range []bool{true, false} {
		t0 := time.Unix(1_700_000_000, 0)
		clk := &fixedClock{t0}
		stamp := &stampReader{r: strings.NewReader(strings.Repeat("x", 100000)), clk: clk, start: t0}
		h := newHostClock(stamp)
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 1)
		host := 0.0 // µs
		for boot := 0; boot < 20; boot++ {
			if told && boot > 0 {
				h.reboot()
			}
			bootAt := host
			for board := 50_000.0; board < 1_000_000; {
				// A batch of 1-8 frames 1 ms apart, received together
				// after a delay of 0.2-3 ms.
				n := 1 + rng.IntN(8)
				last := board + float64(n-1)*1000
				late := 0.0
				if last > 500_000 && last < 650_000 {
					late = 20_000
				}
				clk.t = t0.Add(time.Duration((bootAt+last+200+rng.Float64()*2800+late)*1e3) * time.Nanosecond)
				_, err := stamp.Read(buf)
				require.NoError(t, err)
				for i := range n {
					h.frame(uint64(board + float64(i)*1000))
				}
				board = last + 1000
			}
			host = bootAt + 1_000_000 + 5_000
		}
		d := h.result()
		require.NotNil(t, d)
		require.InDelta(t, 0, d.DriftPPM, 100, "reboots told: %v: %+v", told, d)
	}
}
