package main

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

// Differential tests: the same campaign on the Go model (sim://pathfinder)
// and on the C reference firmware in QEMU. Two implementations of the same
// task set written apart; where they disagree, one of them is wrong.

type diffRun struct {
	Verdict string `json:"verdict"`
	Resets  struct {
		Watchdog int `json:"watchdog"`
	} `json:"resets"`
	Inversions   int `json:"inversions"`
	InversionLog []struct {
		High string `json:"high"`
		Low  string `json:"low"`
		Lock string `json:"lock"`
	} `json:"inversion_log"`
	Tasks map[string]struct {
		MaxResponseUS int64 `json:"max_response_us"`
	} `json:"tasks"`
	// Why a run failed, for the table of a failing test: the checks, the
	// resets and the link.
	Checks []struct {
		Check string `json:"check"`
		Value any    `json:"value"`
		Pass  bool   `json:"pass"`
	} `json:"checks"`
	Telemetry map[string]any `json:"telemetry"`
	Sweep     *struct {
		Value string `json:"value"`
	} `json:"sweep"`
}

func runDiff(t *testing.T, campaign, target string, args ...string) (int, []diffRun) {
	t.Helper()
	code, out, stderr := hilchaos(t, append([]string{"run", campaign, "--target", target, "--format", "json"}, args...)...)
	var d struct {
		Runs []diffRun `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &d), "%s: %s", target, stderr)
	require.NotEmpty(t, d.Runs, target)
	return code, d.Runs
}

// The lock-hold sweep 0..60 ms in 5 ms steps without a protocol. Where the
// verdict turns from pass to fail depends on the execution times drawn in
// the few cycles where the lengthened hold meets imaging and comm_tx (each
// implementation draws its own), so the two edges may differ by a few
// steps; everywhere else the verdicts must agree, and each side's verdicts
// must be monotone (once failing, failing).
func TestDifferentialLockHoldSweep(t *testing.T) {
	// campaigns/breaking-point.yaml's stress alone: asi_met's critical
	// section lengthened once a second, no load burst.
	camp := filepath.Join(t.TempDir(), "sweep.yaml")
	require.NoError(t, os.WriteFile(camp, []byte(`name: lock-hold-sweep
target: sim://pathfinder?mutex=none
reference: sim://pathfinder?mutex=inherit
duration: 3s
seed: 1997
trace: default
faults:
  - name: asi-met-long-publish
    kind: lock-hold
    task: asi_met
    lock: bus
    extra: 25ms
    schedule:
      phase:
        task: asi_met
        offset: 0ms
        cycles: 4
checks:
  - resets.watchdog == 0
  - bc_dist.deadline_misses == 0
sweep:
  fault: asi-met-long-publish
  param: extra
  from: 0ms
  to: 60ms
  step: 5ms
`), 0o644))
	_, sim := runDiff(t, camp, "sim://pathfinder?mutex=none", "--duration", "5s")
	_, fw := runDiff(t, camp, qemuURL(t, "none"), "--duration", "5s")
	require.Len(t, sim, 13)
	require.Len(t, fw, 13)
	// A firmware run failing below one that passes breaks the monotone
	// sweep. The emulated board does not always repeat (docs/AGENT.md,
	// "Repeatability"; once in four CI runs a point below the edge failed
	// on a deadline miss): such a point runs once more alone, and fails
	// the test only if it fails again. The blip is logged either way.
	lastPass := -1
	for i := range fw {
		if fw[i].Verdict == "pass" {
			lastPass = i
		}
	}
	for i := 0; i < lastPass; i++ {
		if fw[i].Verdict == "pass" {
			continue
		}
		_, again := runDiff(t, camp, qemuURL(t, "none"), "--duration", "5s", "--sweep-value", fw[i].Sweep.Value, "--run", "0")
		require.Len(t, again, 1)
		t.Logf("firmware at extra %s: %s%s; run again alone: %s%s", fw[i].Sweep.Value, fw[i].Verdict, whyNot(fw[i]), again[0].Verdict, whyNot(again[0]))
		require.NotNil(t, again[0].Sweep)
		fw[i] = again[0]
	}
	var table strings.Builder
	var differ []int
	for i := range sim {
		require.NotNil(t, sim[i].Sweep)
		require.NotNil(t, fw[i].Sweep)
		require.Equal(t, sim[i].Sweep.Value, fw[i].Sweep.Value)
		fmt.Fprintf(&table, "  extra %-5s model %-4s (%d resets)  firmware %-4s (%d resets)%s\n", sim[i].Sweep.Value,
			sim[i].Verdict, sim[i].Resets.Watchdog, fw[i].Verdict, fw[i].Resets.Watchdog, whyNot(fw[i]))
		if sim[i].Verdict != fw[i].Verdict {
			differ = append(differ, i)
		}
	}
	t.Logf("lock-hold sweep, mutex none:\n%s", table.String())
	edge := func(rs []diffRun) int {
		e := len(rs)
		for i := len(rs) - 1; i >= 0 && rs[i].Verdict == "fail"; i-- {
			e = i
		}
		for i := range rs[:e] {
			assert.Equal(t, "pass", rs[i].Verdict, "not monotone: pass, fail, pass:\n%s", table.String())
		}
		return e
	}
	em, ef := edge(sim), edge(fw)
	lo, hi := min(em, ef), max(em, ef)
	for _, i := range differ {
		assert.True(t, i >= lo && i < hi, "extra %s: the verdicts differ away from the edges:\n%s", sim[i].Sweep.Value, table.String())
	}
	assert.LessOrEqual(t, hi-lo, 4, "edges: model at %s, firmware at %s: more than 20 ms apart", sim[min(em, 12)].Sweep.Value, fw[min(ef, 12)].Sweep.Value)
	t.Logf("first failing extra: model %s, firmware %s", sim[min(em, 12)].Sweep.Value, fw[min(ef, 12)].Sweep.Value)
	assert.Equal(t, "pass", sim[0].Verdict, "no lengthening at all")
	assert.Equal(t, "fail", sim[len(sim)-1].Verdict, "60 ms more")
}

// whyNot is, for a run that did not pass, its failed checks and what its
// link saw: the table of a failing sweep then says what failed.
func whyNot(r diffRun) string {
	if r.Verdict == "pass" {
		return ""
	}
	var b strings.Builder
	for _, c := range r.Checks {
		if !c.Pass {
			fmt.Fprintf(&b, " [%s: %v]", c.Check, c.Value)
		}
	}
	fmt.Fprintf(&b, " link %v", r.Telemetry)
	return b.String()
}
