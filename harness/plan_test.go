package harness

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// The plan is phased against the table the board declares, not the
// reference's: the same campaign on a board whose asi_met is released
// 118 ms into the cycle fires its phase faults 28 ms later than on one
// whose asi_met is released at 90 ms.
func TestFiringsFollowTheBoardsTable(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{})
	require.NoError(t, err)
	ref := profileTable(mustSimProfile(c.Reference))
	shifted := profileTable(mustSimProfile(c.Reference))
	for i := range shifted.Tasks {
		if shifted.Tasks[i].Name == "asi_met" {
			shifted.Tasks[i].Offset = 118_000
		}
	}
	p := PlanRun(c, 0)
	a, err := c.bind("sim://ref", ref, &p, true)
	require.NoError(t, err)
	b, err := c.bind("serial:///dev/board", shifted, &p, true)
	require.NoError(t, err, "offsets may differ from the reference: only names, priorities, periods and locks must match")
	fa, fb := a.firings.All(), b.firings.All()
	require.Equal(t, len(fa), len(fb))
	require.NotEmpty(t, fa)
	for i := range fa {
		require.Equal(t, fa[i].Name, fb[i].Name)
		require.Equal(t, fa[i].At+28_000, fb[i].At, "firing %d (%s)", i, fa[i].Name)
	}
}

// A board whose table differs from the reference's task by task is
// refused, each difference naming both sides.
func TestReferenceComparedTaskByTask(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{})
	require.NoError(t, err)
	tbl := profileTable(mustSimProfile(c.Reference))
	tbl.Tasks[0].Priority = 3                                   // bc_sched
	tbl.Tasks[2].Period = 100_000                               // comm_tx
	tbl.Tasks = append(tbl.Tasks, wire.TaskInfo{Name: "extra"}) // unknown to the reference
	tbl.Locks = append(tbl.Locks, wire.LockInfo{Name: "spi"})
	p := PlanRun(c, 0)
	_, err = c.bind("tcp://rig:1", tbl, &p, true)
	var inv *InvalidError
	require.ErrorAs(t, err, &inv)
	msg := err.Error()
	for _, want := range []string{
		`task "bc_sched": the board at tcp://rig:1 declares priority 3, period 125ms; the reference sim://pathfinder?mutex=inherit declares priority 10, period 125ms`,
		`task "comm_tx": the board at tcp://rig:1 declares priority 6, period 100ms; the reference sim://pathfinder?mutex=inherit declares priority 6, period 125ms`,
		`task "extra": the board at tcp://rig:1 declares it`,
		`locks: the board at tcp://rig:1 declares [bus, spi]; the reference sim://pathfinder?mutex=inherit declares [bus]`,
		`reference: none`,
	} {
		require.Contains(t, msg, want)
	}
	// The reference run itself is not compared with itself.
	_, err = c.bind("sim://pathfinder?mutex=inherit", profileTable(mustSimProfile(c.Reference)), &p, false)
	require.NoError(t, err)
}

// The firings a run generates cost no memory that grows with its length.
func TestFiringsAreLazy(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: 1_000_000 * 3600 * 1e9})
	require.NoError(t, err)
	p := PlanRun(c, 0)
	f := p.Firings(TableCycle(profileTable(mustSimProfile(c.Target))))
	last := int64(-1)
	for i := 0; i < 10000; i++ {
		pf, ok := f.Next()
		require.True(t, ok)
		require.GreaterOrEqual(t, pf.At, last)
		last = pf.At
	}
	require.Len(t, f.heads, 2, "one pending firing per campaign fault")
}

// A target that is not itself a model needs a reference, or an explicit
// reference: none, which runs the checks and scores nothing.
func TestReferenceRequiredForRealBoards(t *testing.T) {
	registerRig()
	dir := t.TempDir()
	write := func(name, ref string) string {
		path := filepath.Join(dir, name)
		body := "name: x\ntarget: rig://bench-3\n" + ref + "faults:\n  - kind: lock-hold\n    task: nosuch\n    lock: bus\n    extra: 5ms\n    schedule: {every: 1s}\n"
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
		return path
	}
	_, err := LoadCampaign(write("none-given.yaml", ""), Overrides{})
	require.ErrorContains(t, err, "reference: required: the target rig://bench-3 is not a simulated model")
	_, err = LoadCampaign(write("pathfinder.yaml", "reference: sim://pathfinder?mutex=inherit\n"), Overrides{})
	require.ErrorContains(t, err, `faults[0].task: the reference sim://pathfinder?mutex=inherit declares no task "nosuch"`,
		"names are checked against the table the board must match, which says so")
	c, err := LoadCampaign(write("unscored.yaml", "reference: none\n"), Overrides{})
	require.NoError(t, err, "with no reference the names wait for the board's own table")
	require.False(t, c.Scored())
}

var rigOnce sync.Once

// registerRig registers a "rig" scheme that stands for a real board.
func registerRig() {
	rigOnce.Do(func() {
		targets.Register("rig", func(u *url.URL, _ targets.Options) (targets.Target, error) {
			return nil, errors.New("no such rig")
		})
	})
}

// A simulated target's table is known before it runs: a reference that
// does not match it is refused at load (lint and run), both sides named.
func TestSimTargetComparedWithReferenceAtLoad(t *testing.T) {
	demo, err := filepath.Abs("../firmware/testdata/demo.yaml")
	require.NoError(t, err)
	_, err = LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Target: "sim://" + demo + "?mutex=none"})
	require.ErrorContains(t, err, `reference: task "bc_sched": the reference sim://pathfinder?mutex=inherit declares it (priority 10, period 125ms); the board at sim://`+demo+`?mutex=none does not`)
	require.ErrorContains(t, err, `faults[0].task: the board at sim://`+demo+`?mutex=none declares no task "asi_met"`)
}

// Every censored sample (a job a reset cut short) is in exactly one
// histogram bin, marked as such.
func TestCensoredSamplesInTheirBins(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Repeat: 1, Duration: 5 * time.Second})
	require.NoError(t, err)
	sum, err := Execute(context.Background(), c, Options{})
	require.NoError(t, err)
	bc := sum.Runs[0].Tasks["bc_dist"]
	require.Positive(t, bc.Censored, "mutex=none: resets cut bc_dist jobs short")
	var inBins, all int64
	for _, b := range bc.ResponseHist {
		require.LessOrEqual(t, b.Censored, b.Count)
		inBins += b.Censored
		all += b.Count
	}
	require.Equal(t, int64(bc.Censored), inBins)
	require.Equal(t, int64(bc.Jobs+bc.Censored), all)
}
