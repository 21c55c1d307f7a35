package gate

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// runsOn makes n records on rig with bc_dist's max response drawn around
// base µs.
func runsOn(rng *rand.Rand, rig string, n int, base float64, build string) []record.RunRecord {
	out := make([]record.RunRecord, n)
	for i := range out {
		v := int64(base + rng.Float64()*base*0.05)
		out[i] = record.RunRecord{Index: i, Target: "rigs:lab.yaml", DurationUS: 1e6, Verdict: record.Pass,
			Firmware: record.Firmware{Name: "fw", Version: "1", Build: build},
			Rig:      &record.RigInfo{Name: rig},
			Tasks:    map[string]analyze.TaskResult{"bc_dist": {MaxResponseUS: v, P99ResponseUS: v}}}
	}
	return out
}

// A slow rig and a fast rig, the same firmware: a baseline done mostly on
// the fast rig and a candidate mostly on the slow one look like a
// regression when pooled, and do not when stratified by rig. A real shift
// on both rigs is still found.
func TestByRigStratification(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := append(runsOn(rng, "fast", 12, 1000, "aa"), runsOn(rng, "slow", 4, 3000, "aa")...)
	cand := append(runsOn(rng, "fast", 4, 1000, "bb"), runsOn(rng, "slow", 12, 3000, "bb")...)
	pooled := Compare("base", base, "cand", cand, Config{})
	assert.Equal(t, Regression, pooled.Verdict, pooled.Reason)
	strat := Compare("base", base, "cand", cand, Config{ByRig: true})
	assert.Equal(t, Pass, strat.Verdict, strat.Reason)
	require.NotEmpty(t, strat.Notes)
	assert.Contains(t, strat.Notes[len(strat.Notes)-1], "fast 12/4, slow 4/12")

	worse := append(runsOn(rng, "fast", 4, 1300, "cc"), runsOn(rng, "slow", 12, 3900, "cc")...)
	strat = Compare("base", base, "cand", worse, Config{ByRig: true})
	assert.Equal(t, Regression, strat.Verdict, strat.Reason)
	assert.Contains(t, strat.Regressions, "bc_dist.max_response_us")
}

func TestStratifiedMannWhitneyEdges(t *testing.T) {
	r := StratifiedMannWhitney(map[string][]float64{"a": {1, 2}}, map[string][]float64{"b": {3, 4}})
	assert.Equal(t, 1.0, r.PGreater, "no stratum with both sides: no evidence")
	r = StratifiedMannWhitney(map[string][]float64{"a": {1, 1, 1}}, map[string][]float64{"a": {1, 1, 1}})
	assert.Equal(t, 1.0, r.PGreater, "all tied: no evidence")
	r = StratifiedMannWhitney(map[string][]float64{"a": {1, 2, 3, 4, 5, 6}}, map[string][]float64{"a": {7, 8, 9, 10, 11, 12}})
	assert.Less(t, r.PGreater, 0.01)
	one := MannWhitney([]float64{1, 2, 3, 4, 5, 6}, []float64{7, 8, 9, 10, 11, 12})
	assert.Less(t, one.PGreater, 0.01)
}

// The same build id on both sides (real boards) is refused unless told.
func TestSameBuildRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base, cand := runsOn(rng, "a", 10, 1000, "0123abcd"), runsOn(rng, "a", 10, 1000, "0123abcd")
	rep := Compare("base", base, "cand", cand, Config{})
	assert.Equal(t, Invalid, rep.Verdict)
	assert.Contains(t, rep.Reason, "both report build id 0123abcd")
	rep = Compare("base", base, "cand", cand, Config{AllowSameBuild: true})
	assert.Equal(t, Pass, rep.Verdict, rep.Reason)
	for i := range base {
		base[i].Target, cand[i].Target = "sim://pathfinder?mutex=inherit", "sim://pathfinder?mutex=none"
	}
	rep = Compare("base", base, "cand", cand, Config{})
	assert.NotContains(t, rep.Reason, "build id", "the simulated board's one build id is not refused")
}
