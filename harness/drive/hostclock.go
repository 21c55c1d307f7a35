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
// last frame of each chunk is taken, and of those only the fastest
// (smallest host minus board time) of each bucketChunks chunks: the floor
// of the delay is steady where its average is not. The floors (at most
// maxFloors; pairs are merged when full) are fitted robustly: floors far
// above the fit (a stretch where the host read late throughout) are left
// out and the fit is done again. Jitter is the RMS of every frame's delay
// above its bucket's floor.
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

	floors     []floorPt // buckets' fastest frames
	seg        int32     // current segment (boot)
	merge      int       // floors combined per stored point (a power of 2)
	acc        floorPt   // the floors being combined
	accN       int
	plain      fit // every chunk's last frame: for a slow link with no whole bucket
	frames     uint64
	haveOffset bool
	offsetUS   float64
}

// bucketChunks is how many chunks' last frames make a bucket, whose
// fastest frame enters the fit. Only whole buckets count: one cut short by
// a reboot or the end has a floor from fewer samples, higher than the
// rest, and would bias the slope.
const bucketChunks = 16

// maxFloors bounds the floors kept for the fit.
const maxFloors = 4096

// floorPt is one bucket's fastest frame: board time and delay (host minus
// board time), in its segment.
type floorPt struct {
	seg  int32
	x, d float64
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

// floorSlope fits delay on board time over the floors, one offset per
// segment and one slope, leaving out floors far above the fit; ok is
// false without two floors apart in one segment.
func floorSlope(pts []floorPt) (slope float64, ok bool) {
	keep := make([]bool, len(pts))
	for i := range keep {
		keep[i] = true
	}
	for round := 0; round < 4; round++ {
		type acc struct{ n, sx, sd float64 }
		segs := map[int32]*acc{}
		for i, p := range pts {
			if !keep[i] {
				continue
			}
			a := segs[p.seg]
			if a == nil {
				a = &acc{}
				segs[p.seg] = a
			}
			a.n++
			a.sx += p.x
			a.sd += p.d
		}
		var sxx, sxd float64
		for i, p := range pts {
			if !keep[i] {
				continue
			}
			a := segs[p.seg]
			dx := p.x - a.sx/a.n
			sxx += dx * dx
			sxd += dx * (p.d - a.sd/a.n)
		}
		if sxx <= 0 {
			return 0, false
		}
		slope, ok = sxd/sxx, true
		// Residuals; their median absolute value is the scale.
		res := make([]float64, len(pts))
		var abs []float64
		for i, p := range pts {
			a := segs[p.seg]
			if a == nil {
				continue
			}
			res[i] = p.d - (a.sd/a.n + slope*(p.x-a.sx/a.n))
			if keep[i] {
				abs = append(abs, math.Abs(res[i]))
			}
		}
		slices.Sort(abs)
		scale := abs[len(abs)/2]
		changed := false
		for i := range pts {
			k := segs[pts[i].seg] != nil && res[i] <= 3*scale+1
			if k != keep[i] {
				keep[i], changed = k, true
			}
		}
		if !changed {
			break
		}
	}
	return slope, ok
}

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

// flush enters the bucket's fastest frame into the segment's fit.
func (h *hostClock) flush() {
	if !h.haveBucket {
		return
	}
	h.haveBucket = false
	floor := h.by - h.bx
	h.jn += h.bn
	h.jsq += max(h.bsumsq-2*floor*h.bsum+h.bn*floor*floor, 0)
	if h.bn >= bucketChunks {
		h.addFloor(floorPt{seg: h.seg, x: h.bx, d: h.by - h.bx})
	}
	h.bn, h.bsum, h.bsumsq = 0, 0, 0
}

// reboot starts a new segment: the board clock went back to 0.
func (h *hostClock) reboot() {
	if h.havePend {
		h.take(h.pendX, h.pendY)
	}
	h.flush()
	h.haveLast = false
	h.accN = 0 // floors are not merged across boots
	h.seg++
	h.plain.segment()
}

// result is the fit so far, nil with too little data for a slope.
func (h *hostClock) result() *ClockDrift {
	if h.havePend {
		h.take(h.pendX, h.pendY)
	}
	h.flush()
	if h.accN > 0 { // the floors being combined still count
		h.floors = append(h.floors, h.acc)
		h.accN = 0
	}
	// The floors when there are enough (a fast link); every chunk
	// otherwise (a slow link: a frame or two per bucket).
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
