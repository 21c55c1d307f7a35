package analyze

import (
	"math/bits"
	"sync"
)

// Histogram is a log-linear histogram with the bucket layout of an
// HdrHistogram of range histMin (1 µs) to histMax at histDigits (3)
// significant digits, so every figure drawn from it (percentiles, minimum,
// bars) is the one HdrHistogram gives for the same samples. It stores its
// counts sparsely, in blocks allocated when a value first falls in them:
// a run's response times occupy a few blocks of the 21,504 counters the
// whole range has, and a run costs a few KB where a dense histogram costs
// 170 KB per task (twice: responses and blocking), allocated, zeroed and
// walked end to end for every figure.
//
// Layout (unit magnitude 0, 1024 half sub-buckets): a value v falls in
// bucket b = bits.Len(v|2047) - 11 and sub-bucket s = v >> b; its flat
// index is (b+1)<<10 + s - 1024, so bucket 0 holds 0..2047 exactly and
// bucket b > 0 holds [s<<b, (s+1)<<b) for s in 1024..2047. Flat indices
// increase with the value.
type Histogram struct {
	blocks [histBlocks]*[blockLen]int64
	total  int64
	lo, hi int32 // lowest and highest flat index with a count; lo > hi when empty
}

const (
	subHalfMag = 10 // log2 of the half sub-bucket count: 2·10^3 needs 2^11 sub-buckets
	subHalf    = 1 << subHalfMag
	subMask    = 2*subHalf - 1
	// histBuckets covers histMax: the smallest untrackable value 2048·2^k
	// must exceed it.
	histBuckets = 20
	countsLen   = (histBuckets + 1) * subHalf
	blockShift  = 7
	blockLen    = 1 << blockShift
	histBlocks  = countsLen / blockLen
)

func newHistogram() *Histogram { return &Histogram{lo: countsLen, hi: -1} }

// flatIndex is the counter of v (v >= 0).
func flatIndex(v int64) int32 {
	b := int32(bits.Len64(uint64(v)|subMask)) - (subHalfMag + 1)
	s := int32(v >> uint(b))
	return (b+1)<<subHalfMag + s - subHalf
}

// lowest and highest value counted at a flat index.
func valueAt(i int32) (lo, hi int64) {
	b := i>>subHalfMag - 1
	s := i&(subHalf-1) + subHalf
	if b < 0 {
		return int64(i), int64(i)
	}
	lo = int64(s) << uint(b)
	return lo, lo + 1<<uint(b) - 1
}

// RecordValue counts one sample of v; a value outside 0..histMax is
// ignored (the callers clamp).
func (h *Histogram) RecordValue(v int64) {
	if v < 0 || v > histMax {
		return
	}
	i := flatIndex(v)
	blk := h.blocks[i>>blockShift]
	if blk == nil {
		blk = blockPool.Get().(*[blockLen]int64)
		h.blocks[i>>blockShift] = blk
	}
	blk[i&(blockLen-1)]++
	h.total++
	h.lo, h.hi = min(h.lo, i), max(h.hi, i)
}

// TotalCount is the number of samples.
func (h *Histogram) TotalCount() int64 { return h.total }

// count is the counter at flat index i.
func (h *Histogram) count(i int32) int64 {
	if blk := h.blocks[i>>blockShift]; blk != nil {
		return blk[i&(blockLen-1)]
	}
	return 0
}

// Min is the lowest value equivalent to the smallest sample (0 when empty).
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	lo, _ := valueAt(h.lo)
	return lo
}

// ValueAtQuantile is the highest value equivalent to the sample at
// percentile q (0 < q <= 100): the rank is q% of the count, rounded to
// the nearest, at least 1 and at most the count. 0 when empty.
func (h *Histogram) ValueAtQuantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	q = min(q, 100)
	rank := q/100*float64(h.total) + 0.5
	var want int64
	switch {
	case !(rank >= 1):
		want = 1
	case rank >= float64(h.total):
		want = h.total
	default:
		want = int64(rank)
	}
	var sum int64
	for i := h.lo; i <= h.hi; i++ {
		if sum += h.count(i); sum >= want {
			lo, hi := valueAt(i)
			if q == 0 {
				return lo
			}
			return hi
		}
	}
	return 0
}

// bars calls fn for every counter with samples, in increasing value
// order, with the range of values it holds.
func (h *Histogram) bars(fn func(from, to, count int64)) {
	for i := h.lo; i <= h.hi; i++ {
		if blk := h.blocks[i>>blockShift]; blk == nil {
			i |= blockLen - 1 // skip the empty block
			continue
		}
		if c := h.count(i); c != 0 {
			lo, hi := valueAt(i)
			fn(lo, hi, c)
		}
	}
}

// blockPool keeps released blocks, cleared: a campaign of short runs on
// the simulator makes and drops a few dozen per run.
var blockPool = sync.Pool{New: func() any { return new([blockLen]int64) }}

// release empties h and gives its blocks back for other histograms.
func (h *Histogram) release() {
	if h == nil {
		return
	}
	for i, blk := range h.blocks {
		if blk != nil {
			*blk = [blockLen]int64{}
			blockPool.Put(blk)
			h.blocks[i] = nil
		}
	}
	h.total, h.lo, h.hi = 0, countsLen, -1
}
