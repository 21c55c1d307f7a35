package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/gate"
)

// docs/CI.md end to end, with two builds of the reference firmware in
// QEMU: the inherit build as the baseline, the none build (the 1997 flight
// configuration) as the candidate. The gate exits 1 and names the resets.
func TestCIGateExample(t *testing.T) {
	const campaign = qemuCampaign
	dir := t.TempDir()
	base, cand := filepath.Join(dir, "base"), filepath.Join(dir, "cand")
	code, _, stderr := hilchaos(t, "run", campaign, "--repeat", "6", "--duration", "3s",
		"--target", qemuURL(t, "inherit"), "--out", base)
	require.Equal(t, 0, code, "baseline: %s", stderr)
	code, _, stderr = hilchaos(t, "run", campaign, "--repeat", "6", "--duration", "3s", "--seed", "2",
		"--target", qemuURL(t, "none"), "--out", cand)
	require.Equal(t, 1, code, "candidate: %s", stderr)

	code, rep, stderr := gateReport(t, base, cand)
	assert.Equal(t, ExitFail, code, stderr)
	assert.Equal(t, gate.Regression, rep.Verdict)
	assert.Contains(t, rep.Regressions, "resets (runs with any reset)")
	assert.Contains(t, rep.Reason, "resets.watchdog == 0")

	code, md, _ := hilchaos(t, "gate", "--baseline", base, "--candidate", cand, "--format", "markdown")
	assert.Equal(t, ExitFail, code)
	assert.Contains(t, md, "resets")

	junit := filepath.Join(dir, "junit.xml")
	code, _, stderr = hilchaos(t, "report", cand, "--junit", junit)
	assert.Equal(t, 1, code, "report exits with the stored verdict: %s", stderr)
	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), "<testsuite") && strings.Contains(string(b), "failure"), "JUnit with failures:\n%s", b)
}
