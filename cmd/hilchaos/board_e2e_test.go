package main

// The board is the source of truth: faults are phased against the table
// the board declares, and the reference must match that table task by
// task. Each board is `hilchaos firmware serve` on a real PTY, so nothing
// here can lean on the simulator's own profile.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A board whose asi_met is released at 118 ms (the reference model's at
// 90 ms) gets its phase faults at 118 ms, so the 1997 configuration
// fails with watchdog resets. Phased from the reference's table, the same
// run missed the window and passed.
func TestPlanPhasedToTheBoardsTable(t *testing.T) {
	t.Parallel()
	srv := serve(t, "--pty", "--mutex", "none", "--profile", "testdata/pathfinder-asi118.yaml")
	code, out, errs := hilchaos(t, "run", pathfinder, "--target", "serial://"+srv.path+"?baud=921600",
		"--duration", "3s", "--repeat", "1", "--format", "json")
	require.Equal(t, ExitFail, code, "stderr: %s\n%s", errs, out)
	d := decode(t, out)
	require.Len(t, d.Runs, 1)
	assert.Positive(t, d.Runs[0].Resets.Watchdog, "mutex=none resets the board")
	require.NotEmpty(t, d.Runs[0].Faults)
	assert.Equal(t, int64(118_000), d.Runs[0].Faults[0].At, "the first lock hold fires at this board's asi_met release")
}

// The demo board driven with the Pathfinder campaign: its table has
// other tasks than the Pathfinder reference, and the run is refused (exit
// 2) with both sides named, instead of scoring it against Pathfinder.
func TestReferenceMismatchRefused(t *testing.T) {
	t.Parallel()
	srv := serve(t, "--pty", "--mutex", "none", "--profile", "../../firmware/testdata/demo.yaml")
	target := "serial://" + srv.path + "?baud=921600"
	code, out, errs := hilchaos(t, "run", pathfinder, "--target", target, "--duration", "2s", "--repeat", "1")
	require.Equal(t, ExitInvalid, code, "stdout: %s", out)
	for _, want := range []string{
		"does not fit the board at " + target,
		`faults[0].task: the board at ` + target + ` declares no task "asi_met" (tasks sched, dist, logger, load; locks bus)`,
		`task "bc_sched": the reference sim://pathfinder?mutex=inherit declares it (priority 10, period 125ms); the board at ` + target + ` does not`,
		`task "sched": the board at ` + target + ` declares it (priority 10, period 125ms); the reference sim://pathfinder?mutex=inherit does not`,
	} {
		assert.Contains(t, errs, want)
	}
}

// The demo board with a campaign written for it and its own model as the
// reference: the scores follow the board. The 1997-style configuration
// resets and loses points for it; inheritance passes at full score.
func TestMatchingReferenceScores(t *testing.T) {
	abs, err := filepath.Abs("../../firmware/testdata/demo.yaml")
	require.NoError(t, err)
	body, err := os.ReadFile("testdata/demo-campaign.yaml")
	require.NoError(t, err)
	camp := filepath.Join(t.TempDir(), "demo.yaml")
	ref := "'sim://" + abs + "?mutex=inherit'"
	require.NoError(t, os.WriteFile(camp, []byte(strings.Replace(string(body), "REFERENCE", ref, 1)), 0o644))
	for _, mutex := range []string{"none", "inherit"} {
		t.Run(mutex, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, "--pty", "--mutex", mutex, "--profile", abs)
			code, out, errs := hilchaos(t, "run", camp, "--target", "serial://"+srv.path+"?baud=921600", "--format", "json")
			var doc struct {
				Runs []struct {
					Score      float64                   `json:"score"`
					Resets     struct{ Watchdog int }    `json:"resets"`
					Deductions []struct{ Metric string } `json:"deductions"`
				} `json:"runs"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &doc), errs)
			require.Len(t, doc.Runs, 1)
			r := doc.Runs[0]
			if mutex == "inherit" {
				assert.Equal(t, ExitOK, code, errs)
				assert.Zero(t, r.Resets.Watchdog)
				assert.GreaterOrEqual(t, r.Score, 90.0, "the board behaves as its reference: %+v", r.Deductions)
				for _, d := range r.Deductions {
					assert.NotContains(t, d.Metric, "resets.")
				}
				return
			}
			assert.Equal(t, ExitFail, code, errs)
			assert.Positive(t, r.Resets.Watchdog)
			assert.Less(t, r.Score, 50.0)
			var metrics []string
			for _, d := range r.Deductions {
				metrics = append(metrics, d.Metric)
			}
			assert.Contains(t, metrics, "resets.watchdog")
			assert.Contains(t, metrics, "dist.deadline_misses")
		})
	}
}
