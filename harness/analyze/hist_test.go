package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// TestHistogramMatchesHdr records the same samples in Histogram and in an
// HdrHistogram of the range and precision it stands for, and checks that
// every figure the analyzer draws from it is the same: count, minimum,
// percentiles and the bars (range and count of every non-empty counter).
func TestHistogramMatchesHdr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draws := []func() int64{
		func() int64 { return 1 + rng.Int64N(3000) },                    // bucket 0 and 1
		func() int64 { return 1000 + rng.Int64N(120_000) },              // response times
		func() int64 { return 1 + int64(rng.ExpFloat64()*50_000) },      // a long tail
		func() int64 { return histMax - rng.Int64N(1000) },              // the top bucket
		func() int64 { return 1 << rng.IntN(30) },                       // bucket edges
		func() int64 { return (1 << rng.IntN(30)) - 1 },                 // just below them
		func() int64 { return min(1+rng.Int64N(histMax*2), histMax) },   // clamped
		func() int64 { return 5000 + rng.Int64N(3) },                    // one spike
		func() int64 { return int64(rng.IntN(2)) * (histMax - 1) },      // 0 and the far end
		func() int64 { return 2047 + rng.Int64N(3) },                    // bucket 0 to 1
		func() int64 { return (1 + rng.Int64N(1e6)) * rng.Int64N(300) }, // anywhere
	}
	for di, draw := range draws {
		for _, n := range []int{0, 1, 2, 7, 100, 5000} {
			ours := newHistogram()
			ref := hdrhistogram.New(histMin, histMax, histDigits)
			for range n {
				v := draw()
				ours.RecordValue(v)
				if err := ref.RecordValue(v); err != nil {
					t.Fatalf("draw %d: hdr refused %d: %v", di, v, err)
				}
			}
			if ours.TotalCount() != ref.TotalCount() {
				t.Fatalf("draw %d, n %d: count %d, hdr %d", di, n, ours.TotalCount(), ref.TotalCount())
			}
			if ours.Min() != ref.Min() {
				t.Fatalf("draw %d, n %d: min %d, hdr %d", di, n, ours.Min(), ref.Min())
			}
			for _, q := range []float64{0, 1, 25, 50, 90, 99, 99.9, 100} {
				if a, b := ours.ValueAtQuantile(q), ref.ValueAtQuantile(q); a != b {
					t.Fatalf("draw %d, n %d: p%v %d, hdr %d", di, n, q, a, b)
				}
			}
			var got []hdrhistogram.Bar
			ours.bars(func(from, to, count int64) { got = append(got, hdrhistogram.Bar{From: from, To: to, Count: count}) })
			var want []hdrhistogram.Bar
			for _, b := range ref.Distribution() {
				if b.Count != 0 {
					want = append(want, b)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("draw %d, n %d: %d bars, hdr %d", di, n, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("draw %d, n %d: bar %d is %v, hdr %v", di, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestHistogramIgnoresOutOfRange: a value the layout cannot hold is not
// counted (the analyzer clamps before recording).
func TestHistogramIgnoresOutOfRange(t *testing.T) {
	h := newHistogram()
	h.RecordValue(-1)
	h.RecordValue(histMax + 1)
	if h.TotalCount() != 0 || h.Min() != 0 || h.ValueAtQuantile(99) != 0 {
		t.Fatalf("out-of-range values counted: total %d", h.TotalCount())
	}
	h.bars(func(from, to, count int64) { t.Fatalf("bar %d-%d (%d) in an empty histogram", from, to, count) })
}

// TestHistogramReleaseReuse: a released histogram is empty, and the
// blocks it gave back count from zero in the next one.
func TestHistogramReleaseReuse(t *testing.T) {
	for range 3 {
		h := newHistogram()
		ref := hdrhistogram.New(histMin, histMax, histDigits)
		for v := int64(1); v < 200_000; v += 997 {
			h.RecordValue(v)
			_ = ref.RecordValue(v)
		}
		if h.TotalCount() != ref.TotalCount() || h.ValueAtQuantile(50) != ref.ValueAtQuantile(50) || h.Min() != ref.Min() {
			t.Fatalf("count %d, p50 %d, min %d; hdr %d, %d, %d", h.TotalCount(), h.ValueAtQuantile(50), h.Min(),
				ref.TotalCount(), ref.ValueAtQuantile(50), ref.Min())
		}
		n := 0
		h.bars(func(_, _, c int64) { n += int(c) })
		if int64(n) != ref.TotalCount() {
			t.Fatalf("bars hold %d samples, want %d", n, ref.TotalCount())
		}
		h.release()
		if h.TotalCount() != 0 || h.Min() != 0 {
			t.Fatalf("released histogram: count %d, min %d", h.TotalCount(), h.Min())
		}
		h.bars(func(from, to, c int64) { t.Fatalf("released histogram has a bar %d-%d (%d)", from, to, c) })
	}
}
