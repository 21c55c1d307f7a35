package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/sim"
)

// powerCampaign is the Pathfinder stress with, if cycle, a power cycle
// 10 ms after asi_met's release every 20th cycle (5 s apart): those are
// cycles the lock hold is armed for (every 4th), so the power goes while
// asi_met holds the bus 25 ms longer than usual.
func powerCampaign(t *testing.T, target string, cycle bool) *Campaign {
	t.Helper()
	power := ""
	if cycle {
		power = `
  - name: mains
    kind: power-cycle
    off: 150ms
    schedule:
      phase: {task: asi_met, offset: 10ms, first: 20, cycles: 20}`
	}
	src := fmt.Sprintf(`name: power
target: %s
reference: sim://pathfinder?mutex=inherit
duration: 12s
repeat: 2
seed: 1997
trace: full
min_jobs: 5
faults:
  - name: asi-met-long-publish
    kind: lock-hold
    task: asi_met
    lock: bus
    extra: 25ms
    schedule:
      phase: {task: asi_met, offset: 0ms, cycles: 4}
  - name: comms-burst
    kind: load-burst
    priority: 5
    length: 110ms
    schedule:
      phase: {task: asi_met, offset: 5ms, cycles: 4}
      jitter: 2ms%s
checks:
  - resets.watchdog == 0
  - bc_dist.deadline_misses == 0
`, target, power)
	path := filepath.Join(t.TempDir(), "power.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	c, err := LoadCampaign(path, Overrides{})
	require.NoError(t, err)
	return c
}

// recordsJSON is the campaign's records without their wall-clock facts.
func recordsJSON(t *testing.T, sum *Summary) []byte {
	t.Helper()
	runs := append([]RunRecord(nil), sum.Runs...)
	for i := range runs {
		runs[i].Host = nil
	}
	b, err := json.Marshal(runs)
	require.NoError(t, err)
	return b
}

// On the simulator a power cycle falls on its exact board time, the
// reboot is the host's (not the firmware's), the verdicts are those of
// the same campaign without the cycle, and the runs reproduce byte for
// byte, one at a time or two at once.
func TestPowerCycleOnTheSim(t *testing.T) {
	ctx := context.Background()
	for _, mutex := range []string{"inherit", "none"} {
		target := "sim://pathfinder?mutex=" + mutex
		without, err := Execute(ctx, powerCampaign(t, target, false), Options{})
		require.NoError(t, err)
		c := powerCampaign(t, target, true)
		with, err := Execute(ctx, c, Options{})
		require.NoError(t, err)
		assert.Equal(t, verdicts(without), verdicts(with), "mutex=%s: the power cycle changes no verdict", mutex)

		for _, r := range with.Runs {
			require.Len(t, r.PowerCycles, 2, "run %d: cycles at 5.01 s and 10.01 s", r.Index)
			assert.Equal(t, 2, r.Resets.PowerCycle, "run %d", r.Index)
			first := r.PowerCycles[0]
			assert.Equal(t, "sim", first.How)
			assert.Equal(t, int64(150_000), first.OffUS)
			assert.Equal(t, "POR", first.BootReason)
			// The lock hold of the same asi_met cycle is armed 10 ms
			// before: the power goes while asi_met holds the bus.
			var hold int64 = -1
			for _, f := range r.Faults {
				if f.Name == "asi-met-long-publish" && f.At <= first.PlannedUS {
					hold = f.At
				}
			}
			assert.Equal(t, int64(10_000), first.PlannedUS-hold, "run %d: 10 ms into a lock-hold cycle", r.Index)
			powerLog := 0
			for _, e := range r.ResetLog {
				if e.Kind == record.ResetPowerCycle {
					assert.Equal(t, "POR", e.Reason)
					assert.Equal(t, uint32(1), e.BootCount, "a power-on counts its boots from 1")
					powerLog++
				}
			}
			assert.Equal(t, 2, powerLog)
			if mutex == "inherit" {
				// No reset before it: the cycle falls on its planned
				// board time exactly, and the reset log says so.
				assert.Equal(t, first.PlannedUS, first.AtUS, "run %d", r.Index)
				assert.Equal(t, record.Pass, r.Verdict)
				assert.Equal(t, 0, r.Resets.Total(), "the host's power cycles are not the firmware's resets")
				assert.Equal(t, 100.0, r.Score)
				continue
			}
			// Without inheritance the board still resets on its own
			// after the power cycle, and those resets still fail it.
			wdtAfter := 0
			for _, e := range r.ResetLog {
				if e.Kind == ResetWatchdog && e.AtUS > first.AtUS {
					wdtAfter++
				}
			}
			assert.Positive(t, wdtAfter, "run %d: watchdog resets after the power cycle", r.Index)
			assert.Equal(t, record.Fail, r.Verdict)
		}

		// The reference run is power-cycled at the same board times.
		refObs, err := observe(ctx, c.Reference, c, PlanRun(c, 0), "", nil, false, nil, nil)
		require.NoError(t, err)
		require.Len(t, refObs.PowerCycles, 2)
		assert.Equal(t, with.Runs[0].PowerCycles[0].PlannedUS, refObs.PowerCycles[0].PlannedUS)

		again, err := Execute(ctx, c, Options{})
		require.NoError(t, err)
		par, err := Execute(ctx, c, Options{Parallel: 2})
		require.NoError(t, err)
		assert.Equal(t, string(recordsJSON(t, with)), string(recordsJSON(t, again)), "mutex=%s: two runs, the same bytes", mutex)
		assert.Equal(t, string(recordsJSON(t, with)), string(recordsJSON(t, par)), "mutex=%s: --parallel 2, the same bytes as 1", mutex)
	}
}

// A scripted board is power-cycled through the model it plays; one whose
// power never comes back is a rig error naming the power cycle, not a
// brick of the firmware.
func TestPowerCycleScriptedBoard(t *testing.T) {
	ctx := context.Background()
	c := powerCampaign(t, "scripted://pathfinder?mutex=inherit", true)
	sum, err := Execute(ctx, c, Options{})
	require.NoError(t, err)
	for _, r := range sum.Runs {
		assert.Equal(t, record.Pass, r.Verdict, "run %d: %s", r.Index, r.Error)
		require.Len(t, r.PowerCycles, 2)
		assert.Equal(t, "scripted", r.PowerCycles[0].How)
		assert.Equal(t, "POR", r.PowerCycles[1].BootReason)
	}

	dead := powerCampaign(t, "scripted://pathfinder?mutex=inherit&never_boot_again=1", true)
	dead.Timeouts.Boot = DefaultTimeouts.Boot
	rec, err := ExecuteRun(ctx, dead, PlanRun(dead, 0), Options{})
	require.Error(t, err)
	assert.True(t, isRigError(err), "a board that does not come back from the host's power cycle is the rig's: %v", err)
	assert.ErrorContains(t, err, "after the host's power cycle at t=5.")
	require.NotNil(t, rec)
	assert.Equal(t, record.Error, rec.Verdict)
	assert.Zero(t, rec.Resets.Brick, "not a brick")
	require.Len(t, rec.PowerCycles, 1)
	assert.Empty(t, rec.PowerCycles[0].BootReason, "no banner came")
}

// A campaign with a power-cycle fault is refused before anything runs when
// its target cannot switch the board's power, naming the field and what
// would make it work; a rig's power argv decides its own off time.
func TestPowerCycleRefusedWithoutASwitch(t *testing.T) {
	c := powerCampaign(t, "serial:///nonexistent/hilchaos-board", true)
	sum, err := Execute(context.Background(), c, Options{})
	var inv *InvalidError
	require.ErrorAs(t, err, &inv, "exit 2, not an attempt to open the port: %v", err)
	require.Len(t, inv.Problems, 1)
	assert.Contains(t, inv.Problems[0].Error(), "faults[2].kind: power-cycle: the target serial:///nonexistent/hilchaos-board cannot switch the board's power")
	assert.Contains(t, inv.Problems[0].Error(), "power argv in rigs.yaml")
	assert.Empty(t, sum.Runs, "nothing ran")

	withArgv := []farm.Rig{{Name: "bench-1", Target: "serial:///dev/ttyACM0", Power: []string{"uhubctl", "-a", "cycle"}}}
	err = CheckPower(c, withArgv)
	require.ErrorAs(t, err, &inv)
	assert.Contains(t, err.Error(), "faults[2].off: rig bench-1 (serial:///dev/ttyACM0) is power-cycled by its power argv")

	noOff := powerCampaign(t, "serial:///dev/ttyACM0", true)
	noOff.Faults[2].Fault = &faults.PowerCycle{}
	assert.NoError(t, CheckPower(noOff, withArgv), "a rig with a power argv can")
	assert.NoError(t, CheckPower(powerCampaign(t, "serial:///dev/ttyACM0", false), nil), "no power cycle, no switch needed")
}

// deadSwitch is a simulated board whose power switch reports success and
// switches nothing: a relay on the wrong channel.
type deadSwitch struct{ *sim.Target }

func (deadSwitch) PowerCycle(context.Context, time.Duration) (targets.PowerReport, error) {
	return targets.PowerReport{How: "dead switch"}, nil
}

// A board that runs on through the host's power cycle (it answers ID with
// its old boot, still up) is the rig's failure, not a pass with a reboot
// that never happened.
func TestPowerCycleThatSwitchesNothingIsARigError(t *testing.T) {
	c := powerCampaign(t, "sim://pathfinder?mutex=inherit", true)
	p := PlanRun(c, 0)
	tg, err := targets.Open(c.Target, targets.Options{Seed: p.Seed, Trace: c.Trace})
	require.NoError(t, err)
	defer tg.Close()
	obs, err := driveRun(context.Background(), deadSwitch{tg.(*sim.Target)}, c, p, nil, newIDs(), true)
	require.Error(t, err)
	assert.True(t, isRigError(err), "%v", err)
	assert.ErrorContains(t, err, "ran on through the host's power cycle at t=5.")
	require.Len(t, obs.PowerCycles, 1)
	assert.Equal(t, "the board did not reboot", obs.PowerCycles[0].Error)
}

// On an agent, a rig of its own inventory without a power argv gives a
// power-cycle run back as a rig error (another agent's rig may have a
// switch), says why, and leaves the rig's health alone.
func TestPowerCycleAgentRigWithoutSwitch(t *testing.T) {
	c := powerCampaign(t, "sim://pathfinder?mutex=inherit", true)
	rig := farm.Rig{Name: "bench-3", Target: "serial:///nonexistent/hilchaos-bench-3", MaxConsecutiveErrors: 1}
	pool := farm.NewPool([]farm.Rig{rig})
	rec, rigErr, err := RunOnRig(context.Background(), c, PlanRun(c, 0), Options{}, pool, 0, rig)
	require.NoError(t, err)
	assert.True(t, rigErr)
	require.NotNil(t, rec)
	assert.Equal(t, record.Error, rec.Verdict)
	assert.Contains(t, rec.Error, "faults[2].kind: power-cycle: rig bench-3 (serial:///nonexistent/hilchaos-bench-3) cannot switch the board's power")
	assert.Equal(t, "bench-3", rec.Rig.Name)
	h := pool.Health()[0]
	assert.Zero(t, h.Runs)
	assert.False(t, h.Quarantined)
}
