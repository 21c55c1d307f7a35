package drive

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/scripted"
	"github.com/hilchaos/hilchaos/targets/wire"
	"github.com/stretchr/testify/require"
)

// The race behind "board refused CF trace: busy" (issue 8, seen on a
// loaded host): the board's output reaches the host late (150 ms, more
// than the 100 ms retry interval), so the host resends GO before it has
// read GO's AK; the board has meanwhile reset (20 ms into the run) and
// forgotten the id, so it takes the copy for a new GO and starts a run
// the host never asked for. The host must not take that run's GO event as
// its own, must stop the run before it configures the board again, and
// the run must end with its board time, its one reset, and every planned
// fault fired at most once.
func TestResendCrossingAReboot(t *testing.T) {
	const latency = 150 * time.Millisecond
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{Latency: latency, ResetAtRun: 20 * time.Millisecond})
	cfg := config(3*time.Second, 1)
	cfg.Timeouts.Retry = 100 * time.Millisecond
	obs := run(t, tg, cfg)
	require.Positive(t, obs.Telemetry.Retries, "GO was sent again while its AK was on the way")
	require.Equal(t, 1, tg.Stats().Resets)
	require.Equal(t, 1, obs.ResetCount, "%+v", obs.ResetKinds)
	require.Equal(t, map[string]int{ResetSoftware: 1}, obs.ResetKinds)
	// The run reached its board time. It may last longer by the board
	// time the host spent re-arming after the reboot (SP, CF, SF and GO,
	// each a round trip over the slow line), which is not counted as run
	// time (Run takes the banner's uptime).
	require.GreaterOrEqual(t, obs.EndUS, int64(3e6), "the run lasted its board time")
	require.Less(t, obs.EndUS, int64(3e6+8*latency.Microseconds()), "and not a stale run's on top")
	fired := 0
	for id, n := range tg.Stats().Begun {
		require.Equal(t, 1, n, "fault %d fired %d times", id, n)
		fired++
	}
	// After the reboot the plan keeps its phase (arm): the last firing may
	// fall after the run's end, so fewer may fire, never more.
	require.GreaterOrEqual(t, fired, len(cfg.Faults)-2, "fired %v, skipped %d", tg.Stats().Begun, obs.FaultsSkipped)
	require.LessOrEqual(t, fired+obs.FaultsSkipped, len(cfg.Faults), "fired %v, skipped %d", tg.Stats().Begun, obs.FaultsSkipped)
}

// A board another host left running (GO 0: until SP): CF is refused busy.
// The driver stops that run (SP), configures the board, and runs its own
// run, whose figures are its own: the other run's GO event and DN are not
// taken for this run's.
func TestBoardLeftRunning(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{})
	require.NoError(t, tg.SetReadDeadline(scripted.Epoch.Add(time.Second)))
	buf := make([]byte, 4096)
	for {
		if _, err := tg.Read(buf); err != nil {
			break // the banner and table are out; the board idles
		}
	}
	_, err := tg.Write(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 4_000_000_000}))
	require.NoError(t, err)
	require.NoError(t, tg.SetReadDeadline(scripted.Epoch.Add(1500*time.Millisecond)))
	for {
		if _, err := tg.Read(buf); err != nil {
			break // half a second of the other host's run went unread
		}
	}
	obs := run(t, tg, config(2*time.Second, 1))
	require.Zero(t, obs.ResetCount)
	require.InDelta(t, 2e6, float64(obs.EndUS), 10e3, "this run's board time, from its own GO")
	require.Greater(t, obs.Analyzer.Tasks()["bc_dist"].Jobs, uint64(10))
}
