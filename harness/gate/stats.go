// Package gate decides whether a candidate result set is worse than a
// baseline: absolute checks from the records, plus relative tests that
// account for run-to-run noise (Mann-Whitney U on per-run latency figures,
// Fisher's exact test on per-run reset probability), with Holm's
// correction so that many metrics do not add up to a false alarm.
package gate

import (
	"math"
	"sort"
)

// MWU is the outcome of a Mann-Whitney U test of y against x.
type MWU struct {
	U        float64 // pairs (x_i, y_j) with y_j > x_i, ties counting one half
	N1, N2   int     // len(x), len(y)
	Z        float64 // normal approximation (tie-corrected, continuity-corrected, one-sided)
	PGreater float64 // one-sided p-value for "y tends to be larger than x"
	PTwo     float64 // two-sided p-value
	Exact    bool    // p-values from the exact distribution of U (no ties, small samples)
}

// exactLimit bounds the sample sizes for which the exact distribution of
// U is computed (C(60,30) ~ 1.2e17 still fits a float64 count exactly
// enough; the table has n1*n2/2 entries per cell).
const exactLimit = 30

// MannWhitney tests whether y is stochastically larger than x. Without
// ties and with both samples of at most 30 values the p-values are exact;
// otherwise they come from the normal approximation with the tie-corrected
// variance and a continuity correction of 1/2, as scipy.stats.mannwhitneyu
// computes with method="asymptotic".
func MannWhitney(x, y []float64) MWU {
	n1, n2 := len(x), len(y)
	r := MWU{N1: n1, N2: n2, PGreater: 1, PTwo: 1}
	if n1 == 0 || n2 == 0 {
		return r
	}
	// Ranks of the pooled sample, ties getting their mean rank.
	type obs struct {
		v   float64
		isY bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(n1 + n2)
	rankSumY, tieTerm := 0.0, 0.0
	ties := false
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		if t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		mean := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].isY {
				rankSumY += mean
			}
		}
		i = j
	}
	r.U = rankSumY - float64(n2)*float64(n2+1)/2
	mu := float64(n1) * float64(n2) / 2
	if !ties && n1 <= exactLimit && n2 <= exactLimit {
		r.Exact = true
		dist := uDistribution(n1, n2)
		total := 0.0
		for _, c := range dist {
			total += c
		}
		u := int(math.Round(r.U))
		ge, le := 0.0, 0.0
		for k, c := range dist {
			if k >= u {
				ge += c
			}
			if k <= u {
				le += c
			}
		}
		r.PGreater = ge / total
		r.PTwo = math.Min(1, 2*math.Min(ge, le)/total)
	}
	sigma2 := float64(n1) * float64(n2) / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if sigma2 <= 0 {
		// Every value is the same: no evidence either way.
		return r
	}
	sigma := math.Sqrt(sigma2)
	r.Z = (r.U - mu - 0.5) / sigma
	if !r.Exact {
		r.PGreater = normalSF(r.Z)
		zt := (math.Abs(r.U-mu) - 0.5) / sigma
		r.PTwo = math.Min(1, 2*normalSF(zt))
	}
	return r
}

// uDistribution returns, for sample sizes n1 and n2 without ties, the
// number of orderings of the pooled sample that give each value of U
// (0..n1*n2). It uses the recurrence on the largest value of the pooled
// sample: it is either a y (adding n1 to U) or an x (adding nothing):
// f(u; n1, n2) = f(u - n1; n1, n2 - 1) + f(u; n1 - 1, n2).
func uDistribution(n1, n2 int) []float64 {
	// prev[j] holds the distribution for (i-1, j); cur[j] for (i, j).
	prev := make([][]float64, n2+1)
	for j := range prev {
		prev[j] = []float64{1} // i = 0: U is always 0
	}
	for i := 1; i <= n1; i++ {
		cur := make([][]float64, n2+1)
		cur[0] = []float64{1}
		for j := 1; j <= n2; j++ {
			d := make([]float64, i*j+1)
			for u, c := range prev[j] { // the largest is an x
				d[u] += c
			}
			for u, c := range cur[j-1] { // the largest is a y: it beats all i x's
				d[u+i] += c
			}
			cur[j] = d
		}
		prev = cur
	}
	return prev[n2]
}

// normalSF is the standard normal survival function, P(Z > z).
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// FisherGreater is the one-sided p-value of Fisher's exact test that the
// candidate's rate k2/n2 is larger than the baseline's k1/n1: the
// probability, with the margins fixed, of the candidate having k2 or more
// of the k1+k2 events (the hypergeometric upper tail).
func FisherGreater(k1, n1, k2, n2 int) float64 {
	k := k1 + k2
	if k == 0 || n1+n2 == 0 {
		return 1
	}
	denom := lchoose(n1+n2, k)
	p := 0.0
	for x := k2; x <= min(k, n2); x++ {
		if k-x > n1 {
			continue
		}
		p += math.Exp(lchoose(n2, x) + lchoose(n1, k-x) - denom)
	}
	return math.Min(p, 1)
}

func lchoose(n, k int) float64 {
	if k < 0 || k > n {
		return math.Inf(-1)
	}
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Holm returns, for p-values ps tested as one family at level alpha,
// which hypotheses Holm's step-down procedure rejects, and the adjusted
// p-values (comparable with alpha directly).
func Holm(ps []float64, alpha float64) (reject []bool, adjusted []float64) {
	m := len(ps)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ps[order[a]] < ps[order[b]] })
	reject, adjusted = make([]bool, m), make([]float64, m)
	running, stopped := 0.0, false
	for rank, i := range order {
		adj := math.Min(1, float64(m-rank)*ps[i])
		running = math.Max(running, adj)
		adjusted[i] = running
		if !stopped && ps[i] <= alpha/float64(m-rank) {
			reject[i] = true
		} else {
			stopped = true
		}
	}
	return reject, adjusted
}

// MinP is the smallest one-sided p-value the exact tests can reach with
// n1 and n2 runs: every candidate run beyond every baseline run (or every
// candidate run resetting and no baseline run), 1/C(n1+n2, n1).
func MinP(n1, n2 int) float64 {
	return math.Exp(-lchoose(n1+n2, n1))
}

// MinRuns is the smallest equal number of runs per side with which a
// family of m tests at level alpha can reject anything at all under
// Holm's correction (whose strictest threshold is alpha/m).
func MinRuns(m int, alpha float64) int {
	for n := 1; ; n++ {
		if MinP(n, n) <= alpha/float64(max(m, 1)) {
			return n
		}
	}
}
