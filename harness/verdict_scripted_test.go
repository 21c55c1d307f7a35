package harness

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func scriptedRun(t *testing.T, target string, d time.Duration) (*Summary, error) {
	t.Helper()
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: d, Repeat: 1, Target: target})
	require.NoError(t, err)
	sum, err := Execute(context.Background(), c, Options{})
	require.Len(t, sum.Runs, 1, "%v", err)
	return sum, err
}

// Must show: a board that acknowledges fault commands and fires none is
// inconclusive (exit 3), with every missing firing listed; the 1997
// firmware without its faults would otherwise pass.
func TestScriptedBoardIgnoringFaultsIsInconclusive(t *testing.T) {
	sum, err := scriptedRun(t, "scripted://pathfinder?mutex=none&ignore_faults=1", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Inconclusive, sum.Verdict)
	r := sum.Runs[0]
	assert.Equal(t, Inconclusive, r.Verdict)
	assert.Zero(t, r.Resets.Total(), "without its faults the board runs clean")
	require.NotNil(t, r.Evidence)
	fc := r.Evidence.Faults
	assert.Equal(t, uint64(len(r.Faults)), fc.Expected)
	assert.Equal(t, fc.Expected, fc.Missing)
	require.Len(t, fc.List, len(r.Faults))
	for i, m := range fc.List {
		assert.Equal(t, r.Faults[i].Name, m.Fault)
		assert.Equal(t, r.Faults[i].At, m.ExpectedUS)
	}
	assert.Contains(t, r.Evidence.Missing[0], "planned fault firings did not begin on the board")
}

// Must show: a board silent after its reset (the link up) is a brick: the
// run fails (exit 1), it is not a rig error.
func TestScriptedBoardSilentAfterResetIsBrick(t *testing.T) {
	sum, err := scriptedRun(t, "scripted://pathfinder?mutex=inherit&reset_after=2s&never_boot_again=1", 5*time.Second)
	require.NoError(t, err, "a brick is not a rig error")
	assert.Equal(t, Fail, sum.Verdict)
	r := sum.Runs[0]
	assert.Equal(t, Fail, r.Verdict, "%+v %s", r.Checks, r.Error)
	assert.Equal(t, 1, r.Resets.Brick)
	require.NotEmpty(t, r.ResetLog)
	last := r.ResetLog[len(r.ResetLog)-1]
	assert.Equal(t, ResetBrick, last.Kind)
	assert.Contains(t, last.Reason, "did not come back")
}

// Must show: a reset with a reason the campaign does not expect (BOR)
// fails the default checks although the campaign checks only watchdog
// resets.
func TestScriptedBrownOutFailsDefaultChecks(t *testing.T) {
	sum, err := scriptedRun(t, "scripted://pathfinder?mutex=inherit&reset_after=2s&reason=BOR", 5*time.Second)
	require.NoError(t, err)
	r := sum.Runs[0]
	assert.Zero(t, r.Resets.Watchdog)
	assert.Positive(t, r.Resets.Unexpected())
	assert.Equal(t, Fail, r.Verdict)
	failed := map[string]bool{}
	for _, c := range r.Checks {
		if !c.Pass {
			failed[c.Expr] = true
		}
	}
	assert.True(t, failed["resets.unexpected == 0"], "%+v", r.Checks)
	assert.False(t, failed["resets.watchdog == 0"])
}
