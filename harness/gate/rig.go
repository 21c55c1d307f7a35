package gate

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hilchaos/hilchaos/harness/record"
)

// rigOf is the rig a run was done on ("" for a run not done on a pool).
func rigOf(r *record.RunRecord) string {
	if r.Rig != nil {
		return r.Rig.Name
	}
	return ""
}

// figureByRig is figure, split by the rig each run was done on.
func figureByRig(recs []record.RunRecord, task, fig string) map[string][]float64 {
	out := map[string][]float64{}
	for i := range recs {
		v := figure(recs[i:i+1], task, fig)
		if len(v) > 0 {
			out[rigOf(&recs[i])] = append(out[rigOf(&recs[i])], v[0])
		}
	}
	return out
}

// StratifiedMannWhitney is van Elteren's stratified rank-sum test: a
// Mann-Whitney test within each stratum (a rig), the rank sums combined
// with weights 1/(N+1), so that a difference between rigs (a slower board,
// a longer cable) is never read as a difference between baseline and
// candidate. Strata with runs on one side only carry no information and
// are left out. The p-value (candidate greater) uses the normal
// approximation, with the tie correction.
func StratifiedMannWhitney(x, y map[string][]float64) MWU {
	r := MWU{PGreater: 1, PTwo: 1}
	var t, mean, variance float64
	for _, s := range sortedStrata(x, y) {
		xs, ys := x[s], y[s]
		n1, n2 := float64(len(xs)), float64(len(ys))
		if n1 == 0 || n2 == 0 {
			continue
		}
		r.N1 += len(xs)
		r.N2 += len(ys)
		n := n1 + n2
		w := 1 / (n + 1)
		ranks, ties := midRanks(xs, ys)
		var sumY float64
		for _, rk := range ranks[len(xs):] {
			sumY += rk
		}
		t += w * sumY
		mean += w * n2 * (n + 1) / 2
		v := n1 * n2 * (n + 1) / 12
		if n > 1 {
			v -= n1 * n2 * ties / (12 * n * (n - 1))
		}
		variance += w * w * v
	}
	if variance <= 0 {
		return r
	}
	z := (t - mean) / math.Sqrt(variance)
	r.U, r.Z = t, z
	r.PGreater = normalSF(z)
	r.PTwo = math.Min(1, 2*normalSF(math.Abs(z)))
	return r
}

// midRanks ranks x then y in their pooled order (ties get their mean
// rank), and returns the tie term sum(t^3 - t).
func midRanks(x, y []float64) ([]float64, float64) {
	all := append(append([]float64{}, x...), y...)
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return all[idx[a]] < all[idx[b]] })
	ranks := make([]float64, len(all))
	var ties float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && all[idx[j]] == all[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			ranks[idx[k]] = mid
		}
		tn := float64(j - i)
		ties += tn*tn*tn - tn
		i = j
	}
	return ranks, ties
}

func sortedStrata(x, y map[string][]float64) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string][]float64{x, y} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// rigNote says how the runs spread over rigs, for a --by-rig report.
func rigNote(base, cand []record.RunRecord) string {
	count := func(recs []record.RunRecord) map[string]int {
		m := map[string]int{}
		for i := range recs {
			m[rigOf(&recs[i])]++
		}
		return m
	}
	b, c := count(base), count(cand)
	var parts []string
	for _, s := range sortedStrata(toFloatKeys(b), toFloatKeys(c)) {
		name := s
		if name == "" {
			name = "(no rig)"
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, b[s], c[s]))
	}
	return "latency tests stratified by rig (van Elteren; runs baseline/candidate): " + strings.Join(parts, ", ")
}

func toFloatKeys(m map[string]int) map[string][]float64 {
	out := map[string][]float64{}
	for k := range m {
		out[k] = nil
	}
	return out
}

// sameBuild is the build id both sides report when they report exactly one
// and the same, on real boards. The simulated board reports one build id
// for every configuration (its configuration is in the target URL), so
// sim:// sides are never "the same build".
func sameBuild(base, cand []record.RunRecord) (string, bool) {
	builds := func(recs []record.RunRecord) (string, bool) {
		id := ""
		for _, r := range recs {
			if strings.HasPrefix(r.Target, "sim:") || r.Firmware.Build == "" {
				return "", false
			}
			if id != "" && r.Firmware.Build != id {
				return "", false
			}
			id = r.Firmware.Build
		}
		return id, id != ""
	}
	b, ok1 := builds(base)
	c, ok2 := builds(cand)
	return b, ok1 && ok2 && b == c
}
