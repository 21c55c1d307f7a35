package main

// End-to-end tests of the power-cycle fault: a rig of rigs.yaml whose
// power argv (a small script, run without a shell) switches a
// `firmware serve --pty` board off and on with SIGUSR1; QEMU's
// system_reset; and the refusal of a plain serial target.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// powerDoc is what the tests read of a run document about power cycles.
type powerDoc struct {
	Runs []struct {
		Verdict string `json:"verdict"`
		Error   string `json:"error"`
		Resets  struct {
			Watchdog   int `json:"watchdog"`
			PowerOn    int `json:"power_on"`
			Unknown    int `json:"unknown"`
			PowerCycle int `json:"power_cycle"`
		} `json:"resets"`
		ResetLog []struct {
			AtUS   int64  `json:"at_us"`
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"reset_log"`
		PowerCycles []struct {
			Fault      string   `json:"fault"`
			PlannedUS  int64    `json:"planned_us"`
			AtUS       int64    `json:"at_us"`
			How        string   `json:"how"`
			Argv       []string `json:"argv"`
			Output     string   `json:"output"`
			BootReason string   `json:"boot_reason"`
		} `json:"power_cycles"`
		Link *struct {
			Witness *struct {
				Resets       int    `json:"resets"`
				BoardReboots int    `json:"board_reboots"`
				Agrees       bool   `json:"agrees"`
				Disagreement string `json:"disagreement"`
			} `json:"witness"`
		} `json:"link"`
	} `json:"runs"`
}

// powerCampaignFile writes a campaign of duration d with one power cycle
// at at (and, with stress, the Pathfinder lock hold and burst) into dir.
func powerCampaignFile(t *testing.T, dir, target, d, at string, stress bool) string {
	t.Helper()
	faults := ""
	if stress {
		faults = `
  - {name: hold, kind: lock-hold, task: asi_met, lock: bus, extra: 25ms, schedule: {phase: {task: asi_met, offset: 0ms, cycles: 4}}}
  - {name: burst, kind: load-burst, priority: 5, length: 110ms, schedule: {phase: {task: asi_met, offset: 5ms, cycles: 4}, jitter: 2ms}}`
	}
	src := fmt.Sprintf(`name: power-e2e
target: %s
reference: sim://pathfinder?mutex=inherit
duration: %s
seed: 1997
trace: full
min_jobs: 1
timeouts: {reconnect: 5s}
faults:%s
  - name: mains
    kind: power-cycle
    schedule: {at: [%s]}
`, target, d, faults, at)
	path := filepath.Join(dir, "power.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// A rig whose inventory gives it a power argv: the host runs it at the
// planned board time (here a script that signals `firmware serve`, the
// served board's power switch), keeps its output, and the board's
// power-on reboot is the host's, not a firmware failure.
func TestPowerCycleRigArgvOnPTY(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "board")
	srv := serve(t, "--pty", "--mutex", "inherit", "--link", link)
	script := filepath.Join(dir, "power-switch")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"power-switch: $1 off and on\"\nkill -USR1 \"$2\"\n"), 0o755))
	inv := filepath.Join(dir, "rigs.yaml")
	require.NoError(t, os.WriteFile(inv, []byte(fmt.Sprintf(`rigs:
  - name: bench-0
    target: serial://%s
    power: [%s, "{port}", "%d"]
    command_timeout: 10s
`, link, script, srv.cmd.Process.Pid)), 0o644))
	warmUp(t, inv)
	camp := powerCampaignFile(t, dir, "serial://"+link, "2500ms", "1200ms", false)

	code, out, errs := hilchaos(t, "run", camp, "--rigs", inv, "--format", "json")
	require.Equal(t, ExitOK, code, "%s\n%s", out, errs)
	var d powerDoc
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Len(t, d.Runs, 1)
	r := d.Runs[0]
	assert.Equal(t, "pass", r.Verdict, r.Error)
	require.Len(t, r.PowerCycles, 1)
	pc := r.PowerCycles[0]
	assert.Equal(t, "rig power argv", pc.How)
	assert.Equal(t, []string{script, link, fmt.Sprint(srv.cmd.Process.Pid)}, pc.Argv, "{port} is the rig's device path")
	assert.Equal(t, "power-switch: "+link+" off and on\n", pc.Output)
	assert.Equal(t, "POR", pc.BootReason, "the served board came back from power-on")
	assert.Equal(t, int64(1_200_000), pc.PlannedUS)
	// The host fires on its estimate of the board's time: never before
	// the planned time, and inside the run (how late depends on the
	// link and the host's load, so no tighter bound is asserted).
	assert.GreaterOrEqual(t, pc.AtUS, pc.PlannedUS)
	assert.Less(t, pc.AtUS, int64(2_500_000))
	assert.Equal(t, 1, r.Resets.PowerCycle)
	assert.Zero(t, r.Resets.PowerOn+r.Resets.Unknown+r.Resets.Watchdog, "the reboot is the host's")
	require.Len(t, r.ResetLog, 1)
	assert.Equal(t, "power_cycle", r.ResetLog[0].Kind)
	assert.Equal(t, "POR", r.ResetLog[0].Reason)
}

// A plain serial target has no power switch: a campaign with a
// power-cycle fault is refused (exit 2) before the port is opened, naming
// the field and what would make it work.
func TestPowerCycleRefusedOnPlainSerial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	camp := powerCampaignFile(t, dir, "serial://"+filepath.Join(dir, "no-such-board"), "2s", "1s", false)
	code, out, errs := hilchaos(t, "run", camp)
	assert.Equal(t, ExitInvalid, code, "%s\n%s", out, errs)
	assert.Contains(t, errs, "faults[0].kind: power-cycle: the target serial://")
	assert.Contains(t, errs, "give the rig a power argv in rigs.yaml")
	assert.NotContains(t, errs, "no-such-board: ", "the port was never opened")
	assert.Empty(t, strings.TrimSpace(out), "no run, no table")
}

// QEMU is power-cycled with QMP system_reset: the record says how, the
// witness's RESET events still agree with the board's reboots, and the
// campaign passes under inheritance.
func TestPowerCycleQEMU(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	camp := powerCampaignFile(t, dir, qemuURL(t, "inherit"), "3s", "1500ms", true)
	code, out, errs := hilchaos(t, "run", camp, "--format", "json")
	require.Equal(t, ExitOK, code, "%s\n%s", out, errs)
	var d powerDoc
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Len(t, d.Runs, 1)
	r := d.Runs[0]
	require.Len(t, r.PowerCycles, 1)
	assert.Equal(t, "qmp system_reset", r.PowerCycles[0].How)
	assert.NotEmpty(t, r.PowerCycles[0].BootReason, "the firmware booted again")
	assert.Equal(t, 1, r.Resets.PowerCycle)
	assert.Zero(t, r.Resets.Watchdog+r.Resets.Unknown+r.Resets.PowerOn)
	require.NotNil(t, r.Link)
	w := r.Link.Witness
	require.NotNil(t, w)
	assert.True(t, w.Agrees, w.Disagreement)
	assert.Equal(t, 1, w.Resets, "one QMP RESET: the power cycle")
	assert.Equal(t, 1, w.BoardReboots)
}
