package drive

import (
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
	require.InDelta(t, 0, d.JitterUS, 1)
}
