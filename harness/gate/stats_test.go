package gate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected values are computed by hand (shown) or quoted from the scipy
// documentation, never taken from this code's output.

func TestMannWhitneyExactSeparated(t *testing.T) {
	// Every y above every x: U = 3*3 = 9, and of the C(6,3) = 20 equally
	// likely orderings only one gives U >= 9: p = 1/20.
	r := MannWhitney([]float64{1, 2, 3}, []float64{4, 5, 6})
	assert.True(t, r.Exact)
	assert.Equal(t, 9.0, r.U)
	assert.InDelta(t, 0.05, r.PGreater, 1e-12)
	assert.InDelta(t, 0.10, r.PTwo, 1e-12)
	// The other way round nothing points to y being larger.
	r = MannWhitney([]float64{4, 5, 6}, []float64{1, 2, 3})
	assert.Equal(t, 0.0, r.U)
	assert.InDelta(t, 1.0, r.PGreater, 1e-12)
}

func TestMannWhitneyScipyExample(t *testing.T) {
	// scipy.stats.mannwhitneyu docs: males = [19, 22, 16, 29, 24],
	// females = [20, 11, 17, 12]; method="exact" gives U1 = 17 and a
	// two-sided p of 0.1111111111111111. By hand: the pooled ranks of the
	// males are 3, 5, 7, 8, 9 (sum 32), U = 32 - 15 = 17 of n1*n2 = 20; the
	// other tail U <= 3 has 1+1+2+3 = 7 of C(9,4) = 126 orderings, so the
	// one-sided p is 7/126 and the two-sided 14/126.
	females := []float64{20, 11, 17, 12}
	males := []float64{19, 22, 16, 29, 24}
	r := MannWhitney(females, males)
	assert.True(t, r.Exact)
	assert.Equal(t, 17.0, r.U)
	assert.InDelta(t, 0.1111111111111111, r.PTwo, 1e-12)
	assert.InDelta(t, 7.0/126, r.PGreater, 1e-12)
	// scipy's method="asymptotic" on the same data gives 0.11134688653314041:
	// z = (17 - 10 - 0.5) / sqrt(20*10/12) = 1.5922, 2*(1-Phi(z)) = 0.11135.
	assert.InDelta(t, 1.5922, r.Z, 1e-4)
}

func TestMannWhitneyTiesUseTheCorrectedVariance(t *testing.T) {
	// x = {1,2,2,3}, y = {2,3,4,5}. Pooled ranks: 1 -> 1; the three 2s ->
	// 3; the two 3s -> 5.5; 4 -> 7; 5 -> 8. Rank sum of y = 3+5.5+7+8 =
	// 23.5, U = 23.5 - 4*5/2 = 13.5, mean n1*n2/2 = 8. Tie term
	// (27-3)+(8-2) = 30; variance 16/12*(9 - 30/56) = 11.285714, sd
	// 3.359422; z = (13.5 - 8 - 0.5)/3.359422 = 1.48835; 1 - Phi(1.48835)
	// = 0.06833 (tables: Phi(1.48) = .93056, Phi(1.49) = .93189).
	r := MannWhitney([]float64{1, 2, 2, 3}, []float64{2, 3, 4, 5})
	assert.False(t, r.Exact)
	assert.Equal(t, 13.5, r.U)
	assert.InDelta(t, 1.48835, r.Z, 1e-4)
	assert.InDelta(t, 0.06833, r.PGreater, 2e-5)
	assert.InDelta(t, 2*0.06833, r.PTwo, 4e-5)
}

func TestMannWhitneyAllTiedIsNoEvidence(t *testing.T) {
	r := MannWhitney([]float64{7, 7, 7}, []float64{7, 7, 7, 7})
	assert.Equal(t, 1.0, r.PGreater)
	assert.Equal(t, 1.0, r.PTwo)
}

func TestUDistributionCountsEveryOrdering(t *testing.T) {
	// n1 = n2 = 2: the 6 orderings give U = 0,1,2,2,3,4.
	assert.Equal(t, []float64{1, 1, 2, 1, 1}, uDistribution(2, 2))
	d := uDistribution(10, 10)
	total := 0.0
	for _, c := range d {
		total += c
	}
	assert.Equal(t, 184756.0, total, "C(20,10)")
}

func TestFisherGreater(t *testing.T) {
	// Fisher's tea-tasting table [[3,1],[1,3]]: P(X>=3) = (16+1)/70.
	assert.InDelta(t, 17.0/70, FisherGreater(1, 4, 3, 4), 1e-12)
	// 0 of 10 against 10 of 10: only one table is as extreme, 1/C(20,10).
	assert.InDelta(t, 1.0/184756, FisherGreater(0, 10, 10, 10), 1e-15)
	// 0 of 10 against 3 of 10: C(10,3)/C(20,3) = 120/1140.
	assert.InDelta(t, 120.0/1140, FisherGreater(0, 10, 3, 10), 1e-12)
	// No resets anywhere: nothing to see.
	assert.Equal(t, 1.0, FisherGreater(0, 10, 0, 10))
	// Fewer on the candidate side: p near 1.
	assert.Greater(t, FisherGreater(5, 10, 0, 10), 0.99)
}

func TestHolm(t *testing.T) {
	// Sorted: .005 <= .05/4 yes, .01 <= .05/3 yes, .03 <= .05/2 no: stop.
	reject, adj := Holm([]float64{0.01, 0.04, 0.03, 0.005}, 0.05)
	assert.Equal(t, []bool{true, false, false, true}, reject)
	// Adjusted: .005*4 = .02, .01*3 = .03, .03*2 = .06, max(.04*1, .06) = .06.
	for i, want := range []float64{0.03, 0.06, 0.06, 0.02} {
		assert.InDelta(t, want, adj[i], 1e-12)
	}
}

func TestMinRuns(t *testing.T) {
	assert.InDelta(t, 1.0/252, MinP(5, 5), 1e-12) // C(10,5) = 252
	// One test at .05: 1/C(6,3) = .05 is reachable with 3 runs a side.
	assert.Equal(t, 3, MinRuns(1, 0.05))
	// 13 tests: .05/13 = .00385; 1/252 = .00397 is not enough, 1/924 is.
	assert.Equal(t, 6, MinRuns(13, 0.05))
}
