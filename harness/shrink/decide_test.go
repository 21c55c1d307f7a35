package shrink

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func trials(s string) []bool {
	out := make([]bool, len(s))
	for i, c := range s {
		out[i] = c == 'R'
	}
	return out
}

func TestSPRTThresholds(t *testing.T) {
	d := DefaultSPRT
	lnA, lnB := d.Thresholds()
	assert.InDelta(t, math.Log(19), lnA, 1e-12) // (1-0.05)/0.05
	assert.InDelta(t, -math.Log(19), lnB, 1e-12)
}

func TestSPRTDecisions(t *testing.T) {
	d := DefaultSPRT // each reproduction adds ln 9 = 2.197, each miss subtracts it; bounds ±ln 19 = ±2.944
	for _, tc := range []struct {
		seq  string
		want verdict
	}{
		{"R", undecided},
		{"RR", yes},
		{"N", undecided},
		{"NN", no},
		{"RN", undecided},
		{"RNRR", yes},
		{"NRNN", no},
		{"RNRNRNRN", undecided},
		{"RNRNRNRNRR", yes},
	} {
		assert.Equal(t, tc.want, d.decide(trials(tc.seq)), tc.seq)
	}
	// The cap: undecided at MaxTrials counts as "does not reproduce".
	d.MaxTrials = 6
	assert.Equal(t, no, d.decide(trials("RNRNRN")))
	assert.Equal(t, undecided, d.decide(trials("RNRNR")))
}

func TestSPRTOperatingCharacteristic(t *testing.T) {
	// The figures docs/SHRINK.md gives. With p1 = 0.9, p0 = 0.1 each
	// trial moves the log-likelihood ratio by ±ln 9, so the test is a
	// random walk stopped at ±2 steps: accept with probability
	// 1/(1+((1-p)/p)^2).
	d := DefaultSPRT
	for _, tc := range []struct {
		p, accept, mean float64
	}{
		{0.9, 0.9878, 2.44},
		{0.8, 0.9412, 2.94},
		{0.5, 0.5000, 4.00},
		{0.1, 0.0122, 2.44},
	} {
		acc, mean := d.OC(tc.p)
		want := 1 / (1 + math.Pow((1-tc.p)/tc.p, 2))
		assert.InDelta(t, want, tc.accept, 1e-4, "table row p=%v", tc.p)
		assert.InDelta(t, tc.accept, acc, 5e-4, "accept at p=%v", tc.p)
		assert.InDelta(t, tc.mean, mean, 0.01, "mean trials at p=%v", tc.p)
	}
	// The real error rates are below the nominal 0.05 (the walk's steps
	// overshoot the thresholds).
	alpha, _ := d.OC(d.P0)
	beta, _ := d.OC(d.P1)
	assert.Less(t, alpha, d.Alpha)
	assert.Less(t, 1-beta, d.Beta)
}

func TestKofN(t *testing.T) {
	d := Decision{Mode: KofN, K: 3, N: 5}
	require.NoError(t, d.Validate())
	assert.Equal(t, yes, d.decide(trials("RRR")))
	assert.Equal(t, undecided, d.decide(trials("RNR")))
	assert.Equal(t, no, d.decide(trials("NNN")))
	assert.Equal(t, yes, d.decide(trials("RNNRR")))
	assert.Equal(t, no, d.decide(trials("RNRNN")))
	acc, mean := d.OC(0.8)
	assert.InDelta(t, 0.942, acc, 0.001) // P(Bin(5,0.8) >= 3)
	assert.LessOrEqual(t, mean, 5.0)
}

func TestOnceWithSeeds(t *testing.T) {
	d := Decision{Mode: Once, Seeds: 3}
	assert.Equal(t, undecided, d.decide(trials("RR")))
	assert.Equal(t, yes, d.decide(trials("RRR")))
	assert.Equal(t, no, d.decide(trials("RN")))
	acc, _ := d.OC(0.875)
	assert.InDelta(t, math.Pow(0.875, 3), acc, 1e-9)
	assert.Equal(t, yes, Decision{Mode: Once}.decide(trials("R")))
}

func TestDecisionValidate(t *testing.T) {
	assert.NoError(t, DefaultSPRT.Validate())
	assert.Error(t, Decision{Mode: SPRT, P0: 0.9, P1: 0.1, Alpha: 0.05, Beta: 0.05, MaxTrials: 10}.Validate())
	assert.Error(t, Decision{Mode: SPRT, P0: 0.1, P1: 0.9, Alpha: 0, Beta: 0.05, MaxTrials: 10}.Validate())
	assert.Error(t, Decision{Mode: KofN, K: 4, N: 3}.Validate())
	assert.Error(t, Decision{Mode: "best-of-3"}.Validate())
}
