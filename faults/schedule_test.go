package faults

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tolerances below are four standard deviations of the statistic under
// the schedule's own distribution, computed in the comments; the tests are
// deterministic (fixed seeds), so they either always pass or never.

func TestPoissonRateWithinItsStatisticalTolerance(t *testing.T) {
	const rate, length = 5.0, 2000 * time.Second
	s := Schedule{Poisson: rate}
	for seed := uint64(1); seed <= 20; seed++ {
		ts := s.Times(length, rand.New(rand.NewPCG(seed, 1)), nil)
		// The count in T seconds is Poisson with mean and variance rate*T =
		// 10000: sd 100, tolerance 400.
		mean := rate * length.Seconds()
		assert.InDelta(t, mean, float64(len(ts)), 4*math.Sqrt(mean), "seed %d: %d firings", seed, len(ts))

		// Counts in 1 s windows: for a Poisson process their variance equals
		// their mean (index of dispersion 1). Over k = 2000 windows the index
		// has sd sqrt(2/(k-1)) = 0.0316: tolerance 0.127. A regular schedule
		// would give about 0, a bursty one well above 1.
		k := int(length / time.Second)
		counts := make([]float64, k)
		for _, x := range ts {
			counts[int(x/time.Second)]++
		}
		m, v := meanVar(counts)
		assert.InDelta(t, 1.0, v/m, 4*math.Sqrt(2/float64(k-1)), "seed %d: dispersion %.3f", seed, v/m)
	}
}

func TestJitterIsUniformWithinItsBound(t *testing.T) {
	const every, jitter = 100 * time.Millisecond, 20 * time.Millisecond
	s := Schedule{Every: every, Jitter: jitter}
	ts := s.Times(1000*time.Second, rand.New(rand.NewPCG(1997, 3)), nil)
	require.Len(t, ts, 9999) // 100 ms .. 999.9 s
	offs := make([]float64, len(ts))
	for i, x := range ts {
		offs[i] = float64(x-time.Duration(i+1)*every) / float64(time.Millisecond)
	}
	m, v := meanVar(offs)
	lo, hi := offs[0], offs[0]
	for _, o := range offs {
		lo, hi = math.Min(lo, o), math.Max(hi, o)
	}
	// Uniform on [-20, 20] ms: mean 0, variance 40^2/12 = 133.3 ms^2, sd
	// 11.55 ms. The mean of n = 9999 draws has sd 11.55/sqrt(n) = 0.1155 ms;
	// the sample variance has sd about sqrt((9/5 - 1) * 133.3^2 / n) (the
	// uniform's kurtosis is 9/5) = 1.19 ms^2.
	n := float64(len(offs))
	assert.InDelta(t, 0, m, 4*math.Sqrt(133.33/n))
	assert.InDelta(t, 133.33, v, 4*math.Sqrt(0.8*133.33*133.33/n))
	assert.GreaterOrEqual(t, lo, -20.0)
	assert.LessOrEqual(t, hi, 20.0)
	assert.Less(t, lo, -19.9, "the draws reach the bound")
	assert.Greater(t, hi, 19.9)
}

func TestRandomSchedulesArePureFunctionsOfTheSeed(t *testing.T) {
	for _, s := range []Schedule{{Poisson: 3}, {Every: time.Second, Jitter: 300 * time.Millisecond}} {
		a := s.Times(time.Minute, rand.New(rand.NewPCG(42, 1)), nil)
		b := s.Times(time.Minute, rand.New(rand.NewPCG(42, 1)), nil)
		c := s.Times(time.Minute, rand.New(rand.NewPCG(42, 2)), nil)
		assert.Equal(t, a, b, "same seed, same firings")
		assert.NotEqual(t, a, c, "another stream, other firings")
	}
}

func meanVar(xs []float64) (float64, float64) {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, v / float64(len(xs)-1)
}
