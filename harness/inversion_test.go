package harness

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/tracelog"
)

// inversionRun runs testdata/inversion.yaml (the Pathfinder inversion at
// fixed times) on target and stores it in dir.
func inversionRun(t *testing.T, target, dir string) *RunRecord {
	t.Helper()
	c, err := LoadCampaign("testdata/inversion.yaml", Overrides{Target: target})
	require.NoError(t, err)
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	sum, err := Execute(context.Background(), c, Options{Store: st})
	require.NoError(t, err)
	require.Len(t, sum.Runs, 1)
	return &sum.Runs[0]
}

func TestPathfinderInversionWithoutProtocol(t *testing.T) {
	dir := t.TempDir()
	r := inversionRun(t, "sim://pathfinder?mutex=none", dir)
	require.Positive(t, r.Inversions)
	require.NotEmpty(t, r.InversionLog)
	e := r.InversionLog[0]
	assert.Equal(t, "bc_dist", e.High)
	assert.Equal(t, "asi_met", e.Low)
	assert.Equal(t, "bus", e.Lock)
	assert.Contains(t, []string{"comm_tx", "comm_rx", "imaging", analyze.LoadTask}, e.Medium)
	assert.Positive(t, e.LengthUS)
	assert.Positive(t, e.MediumUS)
	t.Logf("episodes %d, first %+v", r.Inversions, e)

	// The inversion cost the spacecraft: a missed cycle and a watchdog reset,
	// with the black box read back and the recovery timed.
	require.Equal(t, 1, r.Resets.Watchdog, "%+v", r.ResetLog)
	rs := r.ResetLog[0]
	require.NotEmpty(t, rs.BlackBox)
	assert.Equal(t, "WX", rs.BlackBox[len(rs.BlackBox)-1].Kind)
	assert.Equal(t, rs.AtUS, rs.BlackBox[len(rs.BlackBox)-1].AtUS, "black box on the run's time axis")
	named := false
	for _, b := range rs.BlackBox {
		named = named || b.Task == "bc_dist"
	}
	assert.True(t, named, "task names resolved: %+v", rs.BlackBox)
	assert.Positive(t, rs.RecoveryUS)
	for i := range r.ResetLog {
		prev := int64(0)
		if i > 0 {
			prev = r.ResetLog[i-1].AtUS
		}
		for _, b := range r.ResetLog[i].BlackBox {
			require.True(t, b.AtUS >= prev && b.AtUS <= r.ResetLog[i].AtUS, "reset %d: black box event %+v outside its boot", i, b)
		}
	}
	assert.Greater(t, r.Tasks["bc_dist"].MaxBlockingUS, int64(100_000), "the wait the reset cut short counts")

	// Under no protocol the oracle gives bc_dist no bound.
	bounded := false
	for _, b := range r.Bounds {
		if b.Task == "bc_dist" {
			bounded = true
			assert.Equal(t, int64(-1), b.ResponseBoundUS)
			assert.Equal(t, "none", b.Protocol)
		}
	}
	assert.True(t, bounded, "the oracle lists bc_dist: %+v", r.Bounds)
	// Scored against the reference: the inversions cost points.
	metrics := map[string]bool{}
	for _, d := range r.Deductions {
		metrics[d.Metric] = true
	}
	assert.True(t, metrics["inversions"], "%+v", r.Deductions)
	assert.True(t, metrics["resets.watchdog"], "%+v", r.Deductions)
	assert.Equal(t, Fail, r.Verdict)

	// The stored trace replays to the same figures.
	require.Regexp(t, `^traces/run-0-[0-9a-f]{16}\.wire\.gz$`, r.Trace, "named by the run's key")
	a := analyze.New()
	for _, f := range r.Faults {
		if f.Kind == "load-burst" {
			a.SetFaultPriority(f.ID, 5)
		}
	}
	require.NoError(t, tracelog.Replay(filepath.Join(dir, r.Trace), a))
	a.Finish(r.DurationUS)
	assert.Equal(t, r.Inversions, a.Inversions)
	assert.Equal(t, r.InversionLog, a.Episodes)
	assert.Equal(t, r.Tasks["bc_dist"], a.Tasks()["bc_dist"])
	recs, _, err := ReadRuns(dir)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	got, _ := json.Marshal(recs[0].InversionLog)
	want, _ := json.Marshal(r.InversionLog)
	assert.JSONEq(t, string(want), string(got))
}

func TestPathfinderNoInversionWithInheritance(t *testing.T) {
	r := inversionRun(t, "sim://pathfinder?mutex=inherit", t.TempDir())
	assert.Zero(t, r.Inversions)
	assert.Empty(t, r.InversionLog)
	assert.Zero(t, r.Resets.Total())
	var bound analyze.Bound
	for _, b := range r.Bounds {
		if b.Task == "bc_dist" {
			bound = b
		}
	}
	require.Equal(t, "inherit", bound.Protocol)
	require.Positive(t, bound.BlockingBoundUS)
	bd := r.Tasks["bc_dist"]
	t.Logf("bc_dist: worst blocking %d µs, bound %d µs (B=%d); worst response %d µs, bound %d µs",
		bd.MaxBlockingUS, bound.BlockingBoundUS, bound.BlockingTermUS, bd.MaxResponseUS, bound.ResponseBoundUS)
	assert.Positive(t, bd.MaxBlockingUS, "the lock-hold fault made bc_dist wait")
	assert.LessOrEqual(t, bd.MaxBlockingUS, bound.BlockingBoundUS)
	assert.LessOrEqual(t, bd.MaxResponseUS, bound.ResponseBoundUS)
	for _, f := range r.Findings {
		assert.NotEqual(t, "bc_dist", f.Task, "%+v", f)
	}
}

// The shipped campaign, shortened: without a protocol it shows the episode.
func TestPathfinderCampaignShowsInversion(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Repeat: 1, Duration: 3 * time.Second})
	require.NoError(t, err)
	sum, err := Execute(context.Background(), c, Options{})
	require.NoError(t, err)
	r := sum.Runs[0]
	require.Positive(t, r.Inversions, "campaigns/pathfinder.yaml no longer provokes the inversion")
	e := r.InversionLog[0]
	assert.Equal(t, []string{"bc_dist", "asi_met", "bus"}, []string{e.High, e.Low, e.Lock})
}
