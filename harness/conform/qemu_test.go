package conform_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/conform"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/qemu"
)

// buildFirmware builds the C reference firmware (firmware/mps2-an385) into
// a temporary directory with make's extra arguments. A missing toolchain
// or QEMU fails the test (.ci/setup installs both).
func buildFirmware(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", append([]string{"-s", "-C", "../../firmware/mps2-an385", "BUILD=" + dir}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make firmware (needs gcc-arm-none-eabi; run .ci/setup):\n%s", out)
	_, err = exec.LookPath(qemu.Binary)
	require.NoError(t, err, "%s is missing (run .ci/setup)", qemu.Binary)
	return dir
}

// TestQEMUReferenceFirmwareConforms: the C reference firmware in QEMU
// (icount, so the board's clock is the instructions it ran) passes every
// rule of the protocol version it announces: all 23 for the default
// version 2 builds, the 16 of version 1 for a PROTO=1 build. The starve
// rule (reset-wdt) follows the script's idle check, a pause of more than
// twice the firmware's watchdog timeout between two runs.
func TestQEMUReferenceFirmwareConforms(t *testing.T) {
	v2 := buildFirmware(t)
	v1 := buildFirmware(t, "PROTO=1")
	for _, c := range []struct {
		elf   string
		proto int
	}{
		{filepath.Join(v2, "pathfinder-none.elf"), 2},
		{filepath.Join(v2, "pathfinder-inherit.elf"), 2},
		{filepath.Join(v1, "pathfinder-inherit.elf"), 1},
	} {
		url := "qemu://mps2-an385?fw=" + c.elf + "&icount=5"
		tg, err := targets.Open(url, targets.Options{})
		require.NoError(t, err, url)
		rep, err := conform.Run(context.Background(), tg, conform.Options{})
		tg.Close()
		require.NoError(t, err, url)
		assert.Equal(t, c.proto, rep.Proto, url)
		assert.Empty(t, rep.Failed(), "%s: %+v", url, rep.Results)
		for _, r := range rep.Results {
			want := conform.Pass
			if r.V2 && c.proto < 2 {
				want = conform.Skip
			}
			assert.Equal(t, want, r.Status, "%s: %s: %s", url, r.ID, r.Detail)
		}
	}
}
