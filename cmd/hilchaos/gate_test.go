package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/gate"
)

// resultSet runs pathfinder (10 s of board time a run) into a new directory.
func resultSet(t *testing.T, target string, seed string, repeat string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "results")
	code, _, stderr := hilchaos(t, "run", pathfinder, "--target", target, "--seed", seed, "--repeat", repeat, "--duration", "10s", "--out", dir, "--format", "json")
	require.Contains(t, []int{ExitOK, ExitFail}, code, stderr)
	return dir
}

func gateReport(t *testing.T, base, cand string) (int, gate.Report, string) {
	code, out, stderr := hilchaos(t, "gate", "--baseline", base, "--candidate", cand, "--format", "json")
	var rep gate.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out+stderr)
	return code, rep, stderr
}

func TestGate(t *testing.T) {
	const inherit, none = "sim://pathfinder?mutex=inherit", "sim://pathfinder?mutex=none"
	base := resultSet(t, inherit, "1997", "10")

	t.Run("mutex=none regresses", func(t *testing.T) {
		cand := resultSet(t, none, "1997", "10")
		code, rep, _ := gateReport(t, base, cand)
		assert.Equal(t, ExitFail, code)
		assert.Equal(t, gate.Regression, rep.Verdict)
		assert.Contains(t, rep.Regressions, "bc_dist.max_response_us")
		// The jobs the resets killed are in p99: it is worse, not "improving".
		assert.Contains(t, rep.Regressions, "bc_dist.p99_response_us")
		assert.Contains(t, rep.Regressions, "resets (runs with any reset)")
		assert.Contains(t, rep.Reason, "check resets.watchdog == 0")
		fisher := 0
		for _, tt := range rep.Tests {
			if tt.Metric == "resets (runs with any reset)" {
				fisher++
				// 0 of 10 against 10 of 10: Fisher's p is 1/C(20,10).
				assert.InDelta(t, 1.0/184756, tt.P, 1e-12)
			}
		}
		assert.Equal(t, 1, fisher, "one reset test: %+v", rep.Tests)
		// The table and the markdown name the metrics too.
		code, out, _ := hilchaos(t, "gate", "--baseline", base, "--candidate", cand)
		assert.Equal(t, ExitFail, code)
		assert.Contains(t, out, "REGRESSION")
		assert.Contains(t, out, "bc_dist.max_response_us")
		code, md, _ := hilchaos(t, "gate", "--baseline", base, "--candidate", cand, "--format", "markdown")
		assert.Equal(t, ExitFail, code)
		assert.Contains(t, md, "### hilchaos gate: REGRESSION")
		assert.Contains(t, md, "| `bc_dist.max_response_us` |")
	})

	t.Run("mutex=inherit with another seed passes", func(t *testing.T) {
		cand := resultSet(t, inherit, "2024", "10")
		code, rep, stderr := gateReport(t, base, cand)
		assert.Equal(t, ExitOK, code, stderr)
		assert.Equal(t, gate.Pass, rep.Verdict)
		assert.Empty(t, rep.Regressions)
	})

	t.Run("two runs are too few", func(t *testing.T) {
		cand := resultSet(t, inherit, "2024", "2")
		code, rep, stderr := gateReport(t, base, cand)
		assert.Equal(t, ExitInvalid, code)
		assert.Equal(t, gate.Invalid, rep.Verdict)
		assert.Contains(t, rep.Reason, "sample too small")
		assert.Contains(t, stderr, "sample too small")
		assert.Empty(t, rep.Tests, "no verdict: no test results")
		assert.Empty(t, rep.Regressions)
	})

	t.Run("two runs that reset fail absolutely", func(t *testing.T) {
		cand := resultSet(t, none, "2024", "2")
		code, rep, stderr := gateReport(t, base, cand)
		assert.Equal(t, ExitFail, code, stderr)
		assert.Equal(t, gate.Regression, rep.Verdict)
		assert.Contains(t, rep.Reason, "check resets.watchdog == 0 (failed in 2 of 2 candidate runs)")
		assert.Contains(t, rep.Reason, "sample too small", "the relative tests could not run, and it says so")
		assert.Len(t, rep.Absolute, 8, "2 runs x (resets.watchdog, bc_dist.deadline_misses, bc_dist.max_response, resets.unexpected)")
	})

	t.Run("different campaigns are refused", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "results")
		code, _, stderr := hilchaos(t, "run", "../../campaigns/gate-example.yaml", "--target", inherit, "--seed", "1997", "--repeat", "10", "--out", other)
		require.Equal(t, ExitOK, code, stderr)
		code, rep, stderr := gateReport(t, base, other)
		assert.Equal(t, ExitInvalid, code, stderr)
		assert.Equal(t, gate.Invalid, rep.Verdict)
		assert.Contains(t, rep.Reason, rep.Baseline.CampaignHash)
		assert.Contains(t, rep.Reason, rep.Candidate.CampaignHash)
		assert.NotEqual(t, rep.Baseline.CampaignHash, rep.Candidate.CampaignHash)
		code, out, _ := hilchaos(t, "gate", "--baseline", base, "--candidate", other, "--allow-different", "--format", "json")
		assert.Equal(t, ExitOK, code, out)
		assert.Contains(t, out, "compared anyway")
	})

	t.Run("invalid input", func(t *testing.T) {
		code, _, stderr := hilchaos(t, "gate", "--baseline", base, "--candidate", filepath.Join(t.TempDir(), "nothing"))
		assert.Equal(t, ExitInvalid, code, stderr)
		other := filepath.Join(t.TempDir(), "results")
		code, _, stderr = hilchaos(t, "run", pathfinder, "--target", inherit, "--repeat", "10", "--duration", "5s", "--out", other)
		require.Equal(t, ExitOK, code, stderr)
		code, _, stderr = hilchaos(t, "gate", "--baseline", base, "--candidate", other)
		assert.Equal(t, ExitInvalid, code)
		assert.Contains(t, stderr, "not comparable")
		code, _, _ = hilchaos(t, "gate", "--baseline", base, "--candidate", base, "--format", "xml")
		assert.Equal(t, ExitInvalid, code)
	})
}
