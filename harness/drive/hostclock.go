package drive

import (
	"io"
	"math"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

// Two clocks. Every frame from a real board has two times: the board's own
// (µs since its boot, in the frame) and the host's receive time (the wall
// clock when the chunk holding it was read). Every figure of a run is
// computed on board time; the host times only measure the link and the
// drift between the two clocks, reported in the run record.

// stampReader notes the host clock each time a chunk arrives. The wire
// reader only reads when it has used up what it holds, so the frame it
// returns was completed by the latest chunk: its receive time is atUS.
// It is computed once per chunk, not once per frame.
type stampReader struct {
	r     io.Reader
	clk   targets.Clock
	start time.Time // host time 0: the session's connect
	atUS  float64   // the latest chunk's receive time, µs since start
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.atUS = float64(s.clk.Now().Sub(s.start)) / 1e3
	}
	return n, err
}

// hostClock fits host receive time against board time, streaming (memory
// does not grow with the run). The board clock restarts at every boot, so
// each boot is its own segment and the slope is pooled over segments:
// sum of within-segment co-moments of (board, host), Welford-style so
// hours of microseconds lose no precision.
type hostClock struct {
	stamp *stampReader

	n             float64 // frames in the current segment
	mx, my        float64 // their means
	cxx, cxy, cyy float64 // their co-moments
	pxx, pxy, pyy float64 // pooled over finished segments
	frames        uint64
	haveOffset    bool
	offsetUS      float64
}

func newHostClock(stamp *stampReader) *hostClock {
	return &hostClock{stamp: stamp}
}

// frame adds one frame stamped boardUS (µs since the board's boot).
func (h *hostClock) frame(boardUS uint64) {
	x := float64(boardUS)
	y := h.stamp.atUS
	if !h.haveOffset {
		h.haveOffset, h.offsetUS = true, y-x
	}
	h.frames++
	h.n++
	dx := x - h.mx
	dy := y - h.my
	h.mx += dx / h.n
	h.my += dy / h.n
	h.cxx += dx * (x - h.mx)
	h.cxy += dx * (y - h.my)
	h.cyy += dy * (y - h.my)
}

// reboot starts a new segment: the board clock went back to 0.
func (h *hostClock) reboot() {
	h.pxx += h.cxx
	h.pxy += h.cxy
	h.pyy += h.cyy
	h.n, h.mx, h.my, h.cxx, h.cxy, h.cyy = 0, 0, 0, 0, 0, 0
}

// result is the fit so far, nil with too little data for a slope.
func (h *hostClock) result() *ClockDrift {
	sxx, sxy, syy := h.pxx+h.cxx, h.pxy+h.cxy, h.pyy+h.cyy
	if h.frames < 2 || sxx <= 0 {
		return nil
	}
	slope := sxy / sxx
	rss := max(syy-sxy*sxy/sxx, 0)
	return &ClockDrift{
		Frames:   h.frames,
		DriftPPM: math.Round((slope-1)*1e6*100) / 100,
		OffsetUS: int64(math.Round(h.offsetUS)),
		JitterUS: math.Round(math.Sqrt(rss/float64(h.frames))*10) / 10,
	}
}

// ClockDrift compares the board's clock with the host's receive times over
// every timed frame of the run (a least-squares fit per boot, pooled).
type ClockDrift struct {
	Frames   uint64  // frames in the fit
	DriftPPM float64 // host clock rate vs board clock, minus 1, in parts per million
	OffsetUS int64   // host receive time (µs since connect) minus board time at the first frame
	JitterUS float64 // RMS of receive times around the fit: link and scheduling jitter
}
