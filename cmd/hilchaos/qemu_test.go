package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// The C reference firmware in QEMU, end to end through the CLI. The
// firmware is built once, with Debian's arm-none-eabi gcc, into a temporary
// directory; a missing toolchain or QEMU (both installed by .ci/setup) fails
// these tests loudly.

const qemuCampaign = "../../campaigns/qemu-pathfinder.yaml"

var (
	fwOnce sync.Once
	fwDir  string
	fwErr  error
)

func qemuFirmware(t *testing.T, variant string) string {
	t.Helper()
	fwOnce.Do(func() {
		fwDir, fwErr = os.MkdirTemp("", "hilchaos-fw-")
		if fwErr != nil {
			return
		}
		out, err := exec.Command("make", "-s", "-C", "../../firmware/mps2-an385", "BUILD="+fwDir).CombinedOutput()
		if err != nil {
			fwErr = fmt.Errorf("make firmware (needs gcc-arm-none-eabi; run .ci/setup): %v\n%s", err, out)
		}
	})
	require.NoError(t, fwErr)
	_, err := exec.LookPath("qemu-system-arm")
	require.NoError(t, err, "qemu-system-arm is missing: run .ci/setup")
	return filepath.Join(fwDir, "pathfinder-"+variant+".elf")
}

func qemuURL(t *testing.T, variant string) string {
	return "qemu://mps2-an385?fw=" + qemuFirmware(t, variant) + "&icount=5"
}

// qemuDoc is what the tests read of a run's JSON beyond runDoc.
type qemuDoc struct {
	Runs []struct {
		Link struct {
			Witness *struct {
				Watchdog      int    `json:"watchdog"`
				Resets        int    `json:"resets"`
				BoardWatchdog int    `json:"board_watchdog"`
				BoardReboots  int    `json:"board_reboots"`
				Agrees        bool   `json:"agrees"`
				Disagreement  string `json:"disagreement"`
			} `json:"witness"`
		} `json:"link"`
	} `json:"runs"`
}

// The must-show: without priority inheritance the C firmware resets, and
// every reset is the CMSDK watchdog's own (QEMU's WATCHDOG and RESET events
// agree with the WDT reboots the firmware announced, count for count); with
// inheritance or a priority ceiling the campaign passes.
func TestQEMUPathfinder(t *testing.T) {
	code, out, stderr := hilchaos(t, "run", qemuCampaign, "--target", qemuURL(t, "none"), "--format", "json")
	require.Equal(t, 1, code, stderr)
	d := decode(t, out)
	require.Len(t, d.Runs, 1)
	r := d.Runs[0]
	assert.Equal(t, "fail", r.Verdict)
	assert.GreaterOrEqual(t, r.Resets.Watchdog, 2, "watchdog resets in 5 s")
	assert.Equal(t, r.Resets.Watchdog, r.Inversions, "one inversion per reset")
	var q qemuDoc
	require.NoError(t, json.Unmarshal([]byte(out), &q))
	w := q.Runs[0].Link.Witness
	require.NotNil(t, w, "the record has no reset witness")
	assert.True(t, w.Agrees, w.Disagreement)
	assert.Equal(t, r.Resets.Watchdog, w.Watchdog, "QMP WATCHDOG events")
	assert.Equal(t, r.Resets.Watchdog, w.Resets, "QMP RESET events")
	assert.Equal(t, r.Resets.Watchdog, w.BoardWatchdog)

	for _, v := range []string{"inherit", "ceiling"} {
		code, out, stderr := hilchaos(t, "run", qemuCampaign, "--target", qemuURL(t, v), "--format", "json")
		assert.Equal(t, 0, code, "%s: %s\n%s", v, stderr, out)
		d := decode(t, out)
		require.Len(t, d.Runs, 1)
		assert.Zero(t, d.Runs[0].Resets.Watchdog, v)
		assert.Zero(t, d.Runs[0].Tasks["bc_dist"].DeadlineMisses, v)
	}
}

// normalized returns the frames of a stored wire stream with board times
// made relative to the run's GO event: the moment the host's GO arrives is
// the host's, everything after it is the board's.
func normalized(t *testing.T, path string) []string {
	t.Helper()
	r, err := tracelog.Open(path)
	require.NoError(t, err)
	defer r.Close()
	wr := wire.NewReader(r)
	var go0 uint64
	var frames []string
	for {
		f, err := wr.Next()
		if err != nil {
			break
		}
		switch f.Type {
		case wire.TypeEvent:
			ev, err := f.Event()
			require.NoError(t, err)
			if ev.Kind == wire.EvRun {
				go0 = ev.Time
			}
			ev.Time -= go0
			frames = append(frames, string(wire.AppendEvent(nil, ev)))
		case wire.TypeSummary:
			s, err := f.Summary()
			require.NoError(t, err)
			s.Time -= go0
			frames = append(frames, string(wire.AppendSummary(nil, s)))
		case wire.TypeBoot:
			b, err := f.Boot()
			require.NoError(t, err)
			frames = append(frames, "BT "+b.Name+" "+b.Build+" "+b.Reason)
		case wire.TypeDone:
			frames = append(frames, "DN")
		default:
			frames = append(frames, string(f.Line))
		}
	}
	require.NotEmpty(t, frames, path)
	return frames
}

// Two icount runs with the same seed give the same per-task figures and the
// same wire stream, apart from host receive times and where on the board's
// clock the host's GO arrived.
func TestQEMURepeatable(t *testing.T) {
	url := qemuURL(t, "inherit")
	var docs []string
	var streams [][]string
	for range 2 {
		dir := t.TempDir()
		code, out, stderr := hilchaos(t, "run", qemuCampaign, "--target", url, "--duration", "3s", "--out", dir, "--format", "json")
		require.Equal(t, 0, code, stderr)
		d := decode(t, out)
		b, err := json.Marshal(d.Runs[0].Tasks)
		require.NoError(t, err)
		docs = append(docs, string(b))
		streams = append(streams, normalized(t, filepath.Join(dir, tracelog.Path(0))))
	}
	assert.Equal(t, docs[0], docs[1], "per-task figures")
	require.Greater(t, len(streams[0]), 500, "frames in a 3 s full trace")
	assert.Equal(t, streams[0], streams[1], "wire streams")
}
