package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// The must-shows, and the differential test against the Go model: the same
// campaign on sim://pathfinder and on the C firmware in QEMU gives the same
// verdict for none, inherit and ceiling. Without a protocol both reset and
// show inversion episodes with the same H, L and lock, and every firmware
// reset is the CMSDK watchdog's own (QEMU's WATCHDOG and RESET events agree
// with the WDT reboots the firmware announced, count for count); with
// inheritance or a priority ceiling the campaign passes on both.
func TestQEMUPathfinder(t *testing.T) {
	var inherit [2]int64
	for _, proto := range []string{"none", "inherit", "ceiling"} {
		simCode, sim := runDiff(t, qemuCampaign, "sim://pathfinder?mutex="+proto)
		code, out, stderr := hilchaos(t, "run", qemuCampaign, "--target", qemuURL(t, proto), "--format", "json")
		var d struct {
			Runs []diffRun `json:"runs"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &d), stderr)
		require.Len(t, d.Runs, 1)
		fw := d.Runs
		want := map[string]int{"none": 1, "inherit": 0, "ceiling": 0}[proto]
		assert.Equal(t, want, code, "%s: firmware exit status\n%s", proto, stderr)
		assert.Equal(t, want, simCode, "%s: model exit status", proto)
		assert.Equal(t, sim[0].Verdict, fw[0].Verdict, proto)
		switch proto {
		case "none":
			for name, r := range map[string]diffRun{"model": sim[0], "firmware": fw[0]} {
				assert.GreaterOrEqual(t, r.Resets.Watchdog, 2, "%s: watchdog resets in 5 s", name)
				require.NotEmpty(t, r.InversionLog, "%s: inversion episodes", name)
				for _, e := range r.InversionLog {
					assert.Equal(t, [3]string{"bc_dist", "asi_met", "bus"}, [3]string{e.High, e.Low, e.Lock}, "%s: H, L and lock", name)
				}
			}
			var q qemuDoc
			require.NoError(t, json.Unmarshal([]byte(out), &q))
			w := q.Runs[0].Link.Witness
			require.NotNil(t, w, "the record has no reset witness")
			assert.True(t, w.Agrees, w.Disagreement)
			n := fw[0].Resets.Watchdog
			assert.Equal(t, n, w.Watchdog, "QMP WATCHDOG events")
			assert.Equal(t, n, w.Resets, "QMP RESET events")
			assert.Equal(t, n, w.BoardWatchdog, "WDT reboots")
		default:
			assert.Zero(t, fw[0].Resets.Watchdog, proto)
			assert.Zero(t, fw[0].Inversions, proto)
		}
		if proto == "inherit" {
			inherit = [2]int64{sim[0].Tasks["bc_dist"].MaxResponseUS, fw[0].Tasks["bc_dist"].MaxResponseUS}
		}
	}
	// Context switches, interrupts and the trace itself cost CPU time on
	// the firmware; in the model they cost nothing. bc_dist's worst
	// response under inheritance must still agree within 10 %.
	m, f := float64(inherit[0]), float64(inherit[1])
	require.Positive(t, m)
	assert.LessOrEqual(t, math.Abs(f-m)/m, 0.10, "bc_dist worst response under inherit: model %.0f µs, firmware %.0f µs", m, f)
	t.Logf("bc_dist worst response under inherit: model %.0f µs, firmware %.0f µs (%+.1f %%)", m, f, (f-m)/m*100)
}

// frame is one board frame of a stored wire stream, its board time made
// relative to the run's GO event (when the host's GO arrived is the host's).
type frame struct {
	text string     // the frame with time and host-chosen ids blanked
	time int64      // µs after GO
	ev   wire.Event // for EV frames
}

func normalized(t *testing.T, path string) []frame {
	t.Helper()
	r, err := tracelog.Open(path)
	require.NoError(t, err)
	defer r.Close()
	wr := wire.NewReader(r)
	var go0 uint64
	var frames []frame
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
			x := ev
			x.Time = 0
			if ev.Kind == wire.EvEnd {
				x.Arg = 0 // the response time: compared with the times
			}
			frames = append(frames, frame{string(wire.AppendEvent(nil, x)), int64(ev.Time - go0), ev})
		case wire.TypeSummary:
			sm, err := f.Summary()
			require.NoError(t, err)
			tm := int64(sm.Time - go0)
			sm.Time, sm.MaxResp = 0, 0
			frames = append(frames, frame{text: string(wire.AppendSummary(nil, sm)), time: tm})
		case wire.TypeBoot:
			b, err := f.Boot()
			require.NoError(t, err)
			frames = append(frames, frame{text: "BT " + b.Name + " " + b.Build + " " + b.Reason})
		case wire.TypeDone:
			frames = append(frames, frame{text: "DN"})
		case wire.TypeAck, wire.TypeNak:
			// answers to the host: how many depends on the host's retries
		default:
			frames = append(frames, frame{text: string(f.Line)})
		}
	}
	require.NotEmpty(t, frames, path)
	return frames
}

// Two icount runs with the same seed, at the full trace level: the same
// frames in the same order (kinds, tasks, job and miss counts, sequence
// numbers) at the same board times to the µs, the same response times,
// and the same per-task figures. Bit for bit: the firmware sends from its
// idle thread, so the host's reading never moves a task (docs/AGENT.md,
// "Repeatability"). The run is 24 s of board time with 4 faults a second
// (96 firings): far more than the 2 s and 8 firings the driver keeps on an
// ordinary board, so it holds only because the driver uploads the whole
// plan to a deterministic target before GO and sends nothing during the
// run (no answer follows the GO event in the stream), and starts the run
// where the board's timestamps keep their number of digits to its end
// (which needs a version-2 board, that tells its uptime when asked).
func TestQEMURepeatable(t *testing.T) {
	url := "qemu://mps2-an385?fw=" + inheritV2(t) + "&icount=5"
	src, err := os.ReadFile(qemuCampaign)
	require.NoError(t, err)
	// Every second asi_met cycle instead of every fourth: 4 faults a second.
	camp := strings.ReplaceAll(string(src), "cycles: 4", "cycles: 2")
	require.Equal(t, 2, strings.Count(camp, "cycles: 2"))
	path := filepath.Join(t.TempDir(), "repeat.yaml")
	require.NoError(t, os.WriteFile(path, []byte(camp), 0o644))
	type figs struct {
		Jobs           int   `json:"jobs"`
		DeadlineMisses int   `json:"deadline_misses"`
		MaxResponseUS  int64 `json:"max_response_us"`
	}
	var tasks []map[string]figs
	var streams [][]frame
	for range 2 {
		dir := t.TempDir()
		code, out, stderr := hilchaos(t, "run", path, "--target", url, "--duration", "24s", "--out", dir, "--format", "json")
		require.Equal(t, 0, code, stderr)
		var d struct {
			Runs []struct {
				Tasks map[string]figs `json:"tasks"`
				Trace string          `json:"trace"`
			} `json:"runs"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &d))
		require.Len(t, d.Runs, 1)
		tasks = append(tasks, d.Runs[0].Tasks)
		require.NotEmpty(t, d.Runs[0].Trace, "the run stored no wire stream")
		trace := filepath.Join(dir, d.Runs[0].Trace)
		require.Zero(t, answersAfterGO(t, trace), "commands reached the board during the run")
		run := fromGO(t, normalized(t, trace))
		// The driver let the board's clock reach 10 s before GO, so that
		// every timestamp of the run has 8 digits (steadyStart).
		require.GreaterOrEqual(t, run[0].ev.Time, uint64(10_000_000), "uptime at GO, µs")
		streams = append(streams, run)
	}
	require.Len(t, tasks[0], 6)
	assert.Equal(t, tasks[0], tasks[1], "per-task figures")
	a, b := streams[0], streams[1]
	require.Greater(t, len(a), 24*190, "frames in a 24 s full trace")
	begun := 0
	for _, f := range a {
		if f.ev.Kind == wire.EvFaultBegin {
			begun++
		}
	}
	require.GreaterOrEqual(t, begun, 90, "fault begins in 24 s at 4 a second")
	require.Equal(t, len(a), len(b), "frames")
	for i := range a {
		if a[i].text != b[i].text || a[i].time != b[i].time || a[i].ev.Arg != b[i].ev.Arg {
			t.Fatalf("frame %d: %q at %d µs after GO (arg %d) vs %q at %d µs (arg %d)",
				i, a[i].text, a[i].time, a[i].ev.Arg, b[i].text, b[i].time, b[i].ev.Arg)
		}
	}
}

// inheritV2 builds the inherit firmware announcing protocol version 2,
// whose banner (asked for with ID) tells the driver the board's uptime
// before GO, into a temporary directory.
func inheritV2(t *testing.T) string {
	t.Helper()
	qemuFirmware(t, "inherit") // the toolchain and QEMU are there
	dir := t.TempDir()
	elf := filepath.Join(dir, "pathfinder-inherit.elf")
	out, err := exec.Command("make", "-s", "-C", "../../firmware/mps2-an385", "BUILD="+dir, "PROTO=2", elf).CombinedOutput()
	require.NoError(t, err, "make firmware PROTO=2: %s", out)
	return elf
}

// fromGO is the run in a normalized stream: the frames from the GO event
// on. Those before it answer the host's commands, as many as the host
// needed: the banner and table again for each ID the driver sent while
// the board's clock went to where the run's timestamps keep their width
// (harness/drive: steadyStart).
func fromGO(t *testing.T, fs []frame) []frame {
	t.Helper()
	for i, f := range fs {
		if strings.HasPrefix(f.text, "$EV") && f.ev.Kind == wire.EvRun {
			return fs[i:]
		}
	}
	t.Fatal("no GO event in the stream")
	return nil
}

// answersAfterGO counts the AK and NK frames after the run's GO event in a
// stored wire stream: each answers a command that reached the board while
// the run went.
func answersAfterGO(t *testing.T, path string) int {
	t.Helper()
	r, err := tracelog.Open(path)
	require.NoError(t, err)
	defer r.Close()
	wr := wire.NewReader(r)
	started, n := false, 0
	for {
		f, err := wr.Next()
		if err != nil {
			return n
		}
		switch {
		case f.Type == wire.TypeEvent:
			if ev, err := f.Event(); err == nil && ev.Kind == wire.EvRun {
				started = true
			}
		case f.Type == wire.TypeDone:
			return n
		case started && (f.Type == wire.TypeAck || f.Type == wire.TypeNak):
			n++
		}
	}
}
