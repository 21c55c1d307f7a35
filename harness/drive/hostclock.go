package drive

import (
	"io"
	"math"
	"slices"
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
	r      io.Reader
	clk    targets.Clock
	start  time.Time // host time 0: the session's connect
	atUS   float64   // the latest chunk's receive time, µs since start
	chunks uint64    // chunks read so far
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.atUS = float64(s.clk.Now().Sub(s.start)) / 1e3
		s.chunks++
	}
	return n, err
}

// hostClock fits host receive time against board time in bounded memory.
// The board clock restarts at every boot, so each boot is its own segment
// and the slope is pooled over segments (each has its own offset).
//
// Receive times carry the link's delay, which varies: a USB adapter,
// ser2net or a PTY hand bytes over in batches, a chunk's receive time is
// when its last byte arrived, and a loaded host reads late. So only the
// last frame of each chunk is taken (the earliest-arriving of its chunk),
// and the slope is that of the lower edge of these (floorSlope): the
// floor of the delay is steady where its average is not, and a late read
// lies above the floor without moving it. The points are kept in bounded
// memory: at most maxFloors, neighbours merged into the faster when full.
// Jitter is the RMS of every chunk's delay above the fastest of its
// bucket of bucketChunks chunks.
type hostClock struct {
	stamp *stampReader

	havePend     bool
	pendX, pendY float64 // the latest frame; taken once its chunk is known to be over
	pendChunk    uint64
	haveLast     bool
	lastX        float64 // board time of the latest frame of the segment

	haveBucket       bool
	bx, by           float64 // the fastest frame of the bucket being filled
	bn, bsum, bsumsq float64 // its delays, for the jitter
	jn, jsq          float64 // frames and squared delays above their floors

	floors     []floorPt // chunks' last frames, merged into the fastest when full
	seg        int32     // current segment (boot)
	merge      int       // floors combined per stored point (a power of 2)
	acc        floorPt   // the floors being combined
	accN       int
	plain      fit // every chunk's last frame: for a run of a few chunks
	frames     uint64
	haveOffset bool
	offsetUS   float64
}

// bucketChunks is how many chunks' last frames make a bucket, whose
// fastest frame is the floor the jitter is measured from.
const bucketChunks = 16

// maxFloors bounds the floors kept for the fit.
const maxFloors = 4096

// floorPt is one chunk's last frame, or the fastest of merged ones: board
// time and delay (host minus board time), in its segment.
type floorPt struct {
	seg  int32
	x, d float64
}

// keepAcc stores the floors being combined, though fewer than merge.
func (h *hostClock) keepAcc() {
	if h.accN > 0 {
		h.floors = append(h.floors, h.acc)
		h.accN = 0
	}
}

// addFloor keeps one floor, merging floors when the store is full so that
// memory stays bounded however long the run.
func (h *hostClock) addFloor(p floorPt) {
	if h.merge == 0 {
		h.merge = 1
	}
	if h.accN == 0 || p.d < h.acc.d {
		h.acc = p
	}
	h.accN++
	if h.accN < h.merge {
		return
	}
	h.accN = 0
	h.floors = append(h.floors, h.acc)
	if len(h.floors) < maxFloors {
		return
	}
	// Full: merge neighbours of the same segment, keeping the faster.
	out := h.floors[:0]
	for i := 0; i < len(h.floors); i++ {
		p := h.floors[i]
		if i+1 < len(h.floors) && h.floors[i+1].seg == p.seg {
			if q := h.floors[i+1]; q.d < p.d {
				p = q
			}
			i++
		}
		out = append(out, p)
	}
	h.floors = out
	h.merge *= 2
}

// floorSlope fits the lower edge of the delays: one slope and one offset
// per segment, the line with a share lowQuantile of each segment's points
// below it (quantile regression: least sum of |residual|, weighted
// lowQuantile above the line and 1-lowQuantile below). A delay is never
// negative, and scheduling only ever adds to it: a host that reads late,
// for one chunk or through a whole busy second, lifts points far above
// the line and moves it no more than any point above it, while it tilts a
// least-squares fit by its height. The line rests on the fastest 1 % of
// the points, spread over the segment, rather than on the two lowest
// (the lower hull), so no one lucky read decides it. ok is false without
// two points apart in one segment.
//
// For a slope b, each segment's best offset is the lowQuantile-quantile
// of d - b·x, and the sum is convex in b: a golden-section search finds
// its least.
func floorSlope(pts []floorPt) (slope float64, ok bool) {
	var segs [][]floorPt
	for i := 0; i < len(pts); {
		j := i
		minX, maxX := pts[i].x, pts[i].x
		for ; j < len(pts) && pts[j].seg == pts[i].seg; j++ {
			minX, maxX = min(minX, pts[j].x), max(maxX, pts[j].x)
		}
		if maxX > minX { // a segment of one board time tells no slope
			segs = append(segs, pts[i:j])
		}
		i = j
	}
	if len(segs) == 0 {
		return 0, false
	}
	var r []float64
	loss := func(b float64) float64 {
		sum := 0.0
		for _, seg := range segs {
			r = r[:0]
			for _, p := range seg {
				r = append(r, p.d-b*p.x)
			}
			slices.Sort(r)
			a := r[int(lowQuantile*float64(len(r)-1))]
			for _, v := range r {
				if v >= a {
					sum += lowQuantile * (v - a)
				} else {
					sum += (1 - lowQuantile) * (a - v)
				}
			}
		}
		return sum
	}
	// Any clock within ±50 % of the other's rate, to 1e-9 ppm.
	g := (math.Sqrt(5) - 1) / 2
	lo, hi := -0.5, 0.5
	c, d := hi-g*(hi-lo), lo+g*(hi-lo)
	fc, fd := loss(c), loss(d)
	for range 80 { // 0.618^80 of the range: below 1e-16
		if fc < fd {
			hi, d, fd = d, c, fc
			c = hi - g*(hi-lo)
			fc = loss(c)
		} else {
			lo, c, fc = c, d, fd
			d = lo + g*(hi-lo)
			fd = loss(d)
		}
	}
	return (lo + hi) / 2, true
}

// lowQuantile is the share of points below the fitted line: low enough
// that only the fastest reads decide it, high enough that many do.
const lowQuantile = 0.01

// fit is a streaming least-squares fit of y on x, pooled over segments.
type fit struct {
	n             float64 // points in the current segment
	mx, my        float64 // their means
	cxx, cxy, cyy float64 // their co-moments
	pxx, pxy, pyy float64 // pooled over finished segments
}

func (f *fit) add(x, y float64) {
	f.n++
	dx := x - f.mx
	dy := y - f.my
	f.mx += dx / f.n
	f.my += dy / f.n
	f.cxx += dx * (x - f.mx)
	f.cxy += dx * (y - f.my)
	f.cyy += dy * (y - f.my)
}

func (f *fit) segment() {
	f.pxx += f.cxx
	f.pxy += f.cxy
	f.pyy += f.cyy
	f.n, f.mx, f.my, f.cxx, f.cxy, f.cyy = 0, 0, 0, 0, 0, 0
}

func (f *fit) sums() (sxx, sxy float64) { return f.pxx + f.cxx, f.pxy + f.cxy }

func newHostClock(stamp *stampReader) *hostClock {
	return &hostClock{stamp: stamp}
}

// frame notes one frame stamped boardUS (µs since the board's boot).
func (h *hostClock) frame(boardUS uint64) {
	x := float64(boardUS)
	if h.havePend && h.stamp.chunks != h.pendChunk {
		h.take(h.pendX, h.pendY) // the last frame of the chunk before
	}
	if h.haveLast && x < h.lastX {
		// The board clock went back: a reboot, whether or not the
		// driver has noticed it yet.
		h.reboot()
	}
	h.pendX, h.pendY, h.pendChunk, h.havePend = x, h.stamp.atUS, h.stamp.chunks, true
	h.lastX, h.haveLast = x, true
}

// take files one (board, host) pair into its bucket.
func (h *hostClock) take(x, y float64) {
	h.havePend = false
	if !h.haveOffset {
		h.haveOffset, h.offsetUS = true, y-x
	}
	h.frames++
	h.plain.add(x, y)
	d := y - x
	h.addFloor(floorPt{seg: h.seg, x: x, d: d})
	if !h.haveBucket || d < h.by-h.bx {
		h.bx, h.by = x, y
	}
	h.haveBucket = true
	h.bn++
	h.bsum += d
	h.bsumsq += d * d
	if h.bn >= bucketChunks {
		h.flush()
	}
}

// flush adds the bucket's delays above its floor to the jitter.
func (h *hostClock) flush() {
	if !h.haveBucket {
		return
	}
	h.haveBucket = false
	floor := h.by - h.bx
	h.jn += h.bn
	h.jsq += max(h.bsumsq-2*floor*h.bsum+h.bn*floor*floor, 0)
	h.bn, h.bsum, h.bsumsq = 0, 0, 0
}

// reboot starts a new segment: the board clock went back to 0.
func (h *hostClock) reboot() {
	if h.havePend {
		h.take(h.pendX, h.pendY)
	}
	h.flush()
	h.haveLast = false
	h.keepAcc() // floors are not merged across boots
	h.seg++
	h.plain.segment()
}

// result is the fit so far, nil with too little data for a slope.
func (h *hostClock) result() *ClockDrift {
	if h.havePend {
		h.take(h.pendX, h.pendY)
	}
	h.flush()
	h.keepAcc() // the floors being combined still count
	// The envelope when there are enough chunks; a plain least-squares
	// fit of the few otherwise.
	var slope float64
	if ds, ok := floorSlope(h.floors); ok && len(h.floors) >= 8 {
		slope = 1 + ds
	} else {
		sxx, sxy := h.plain.sums()
		if h.frames < 2 || sxx <= 0 {
			return nil
		}
		slope = sxy / sxx
	}
	jitter := 0.0
	if h.jn > 0 {
		jitter = math.Sqrt(h.jsq / h.jn)
	}
	return &ClockDrift{
		Frames:   h.frames,
		DriftPPM: math.Round((slope-1)*1e6*100) / 100,
		OffsetUS: int64(math.Round(h.offsetUS)),
		JitterUS: math.Round(jitter*10) / 10,
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
