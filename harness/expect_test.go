package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

func TestCampaignExpectResets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: x\nduration: 1s\nexpect_resets: [watchdog, hang]\n"), 0o644))
	c, err := LoadCampaign(path, Overrides{})
	require.NoError(t, err)
	require.Equal(t, []string{"watchdog", "hang"}, c.ExpectResets)
	require.True(t, c.expectsReset(ResetWatchdog))
	require.False(t, c.expectsReset(ResetSoftware))
}

// A watchdog reset the campaign provokes on purpose is "expected": counted
// apart and not deducted.
func TestExpectedResetCostsNothing(t *testing.T) {
	src, err := os.ReadFile("testdata/inversion.yaml")
	require.NoError(t, err)
	src = []byte(strings.Replace(string(src), "checks:\n  - resets.watchdog == 0\n", "expect_resets: [watchdog]\nchecks:\n", 1))
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, src, 0o644))
	c, err := LoadCampaign(path, Overrides{})
	require.NoError(t, err)
	sum, err := Execute(context.Background(), c, Options{})
	require.NoError(t, err)
	r := sum.Runs[0]
	require.Equal(t, 1, r.Resets.Expected, "%+v", r.ResetLog)
	require.Zero(t, r.Resets.Watchdog)
	require.Equal(t, ResetExpected, r.ResetLog[0].Kind)
	require.Equal(t, "WDT", r.ResetLog[0].Reason)
	require.NotEmpty(t, r.ResetLog[0].BlackBox, "the black box is read whatever the campaign expects")
	for _, d := range r.Deductions {
		require.NotContains(t, d.Metric, "resets.", "%+v", d)
	}
}

// A fault the board's table cannot take names the board, the campaign
// field and what the board declares, through the driver.
func TestUnresolvableFaultNamesTheTarget(t *testing.T) {
	c, err := LoadCampaign("testdata/inversion.yaml", Overrides{})
	require.NoError(t, err)
	plan := PlanRun(c, 0)
	cfg := driveConfig(c, plan, nil, "tcp://rig:4001", false, nil)
	_, err = cfg.Plan(&wire.Table{})
	var inv *InvalidError
	require.ErrorAs(t, err, &inv)
	require.Contains(t, err.Error(), "does not fit the board at tcp://rig:4001")
	require.Contains(t, err.Error(), "faults[0].task: the board at tcp://rig:4001 declares no task")
	require.Contains(t, err.Error(), "(tasks none; locks none)")
}
