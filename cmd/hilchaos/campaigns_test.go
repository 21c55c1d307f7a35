package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
)

const preflight = "../../campaigns/preflight.yaml"

func requirementVerdicts(t *testing.T, out string) map[string]string {
	var sum harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	v := map[string]string{}
	for _, r := range sum.Requirements {
		v[r.ID] = r.Verdict
		require.NotEmpty(t, r.Evidence, r.ID)
		for _, e := range r.Evidence {
			assert.Equal(t, len(sum.Runs), e.Runs, "%s: every run is evidence", r.ID)
		}
	}
	return v
}

func TestPreflightListsEveryRequirementWithEvidence(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := hilchaos(t, "run", preflight, "--format", "json", "--out", dir)
	require.Equal(t, ExitOK, code, stderr)
	v := requirementVerdicts(t, out)
	assert.Len(t, v, 6)
	for id, verdict := range v {
		assert.Equal(t, harness.Pass, verdict, id)
	}
	recs, _, err := harness.ReadRuns(dir)
	require.NoError(t, err)
	for _, r := range recs {
		assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, r.CampaignHash)
		assert.Equal(t, "1.0", r.CampaignVersion)
		require.NotNil(t, r.Host)
		assert.Equal(t, harness.Version, r.Host.Harness)
		assert.NotEmpty(t, r.Firmware.Name)
		assert.NotEmpty(t, r.Firmware.Version)
		assert.NotEmpty(t, r.Firmware.Build)
	}

	code, out, _ = hilchaos(t, "run", preflight, "--format", "json", "--target", "sim://pathfinder?mutex=none")
	assert.Equal(t, ExitFail, code)
	v = requirementVerdicts(t, out)
	assert.Equal(t, harness.Fail, v["REQ-SYS-001"])
	assert.Equal(t, harness.Fail, v["REQ-BUS-001"])
	assert.Equal(t, harness.Fail, v["REQ-BUS-003"], "unbounded blocking on the bus lock")
	assert.Equal(t, harness.Fail, v["REQ-BUS-002"], "the bc_dist jobs the resets killed are in p99")
	assert.Equal(t, harness.Pass, v["REQ-SCH-001"])

	// Over a 9600 baud link most events are lost: no evidence, no verdict.
	code, out, _ = hilchaos(t, "run", preflight, "--format", "json", "--repeat", "1", "--target", "sim://pathfinder?mutex=none&baud=9600")
	assert.Equal(t, ExitInfra, code)
	assert.Contains(t, out, `"verdict": "inconclusive"`)
	assert.Contains(t, out, "of telemetry lost")
	// Too short to see anything: inconclusive, not PASS.
	code, out, _ = hilchaos(t, "run", preflight, "--format", "json", "--repeat", "1", "--duration", "1ms")
	assert.Equal(t, ExitInfra, code)
	assert.Contains(t, out, "bc_dist: 0 jobs observed, at least 10 needed (min_jobs)")

	code, table, _ := hilchaos(t, "run", preflight, "--duration", "5s")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, table, "| REQ-BUS-001 | PASS")
	assert.Contains(t, table, "firmware pathfinder-model")
}

func TestWrongFirmwareIsARigError(t *testing.T) {
	b, err := os.ReadFile(preflight)
	require.NoError(t, err)
	wrong := strings.Replace(string(b), "  name: pathfinder-model\n", "  name: pathfinder-model\n  build: flight-7\n", 1)
	require.NotEqual(t, string(b), wrong)
	path := filepath.Join(t.TempDir(), "wrong.yaml")
	require.NoError(t, os.WriteFile(path, []byte(wrong), 0o644))
	code, _, stderr := hilchaos(t, "run", path, "--duration", "2s", "--repeat", "1")
	assert.Equal(t, ExitInfra, code)
	assert.Contains(t, stderr, "the campaign is written for name pathfinder-model, build flight-7")
}

// TestOvernightSoakResultsIntact runs the whole 96-run soak with a shorter
// board time per run (HILCHAOS_DURATION) and checks the log.
func TestOvernightSoakResultsIntact(t *testing.T) {
	t.Setenv("HILCHAOS_DURATION", "30s")
	dir := t.TempDir()
	code, out, stderr := hilchaos(t, "run", "../../campaigns/overnight-soak.yaml", "--out", dir, "--format", "json")
	require.Equal(t, ExitOK, code, stderr)
	var sum harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	assert.Equal(t, 96, sum.Passed)
	assertLogOnceEach(t, dir, 96)
	recs, _, err := harness.ReadRuns(dir)
	require.NoError(t, err)
	var board int64
	for _, r := range recs {
		board += r.DurationUS
		assert.Positive(t, r.Tasks["bc_dist"].Jobs, "run %d observed the board", r.Index)
	}
	assert.EqualValues(t, 96*30_000_000, board, "48 minutes of board time, all stored")
}
