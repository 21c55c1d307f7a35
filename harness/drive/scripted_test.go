package drive

import (
	"context"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/scripted"
	"github.com/hilchaos/hilchaos/targets/wire"
	"github.com/stretchr/testify/require"
)

// board is the reference Pathfinder model behind the knobs k.
func board(t testing.TB, mutex firmware.Protocol, trace int, k scripted.Knobs) *scripted.Target {
	t.Helper()
	p, err := firmware.Lookup("pathfinder")
	require.NoError(t, err)
	b, err := firmware.NewBoard(p, firmware.Config{Mutex: mutex, Trace: trace, Seed: 7, Baud: 921600})
	require.NoError(t, err)
	return scripted.New("scripted://pathfinder", b, k)
}

var testTimeouts = Timeouts{Boot: 5 * time.Second, Liveness: 3 * time.Second}

// config is a run of d at trace level trace with a 20 ms load burst at
// priority 7 every 500 ms, the first at 300 ms.
func config(d time.Duration, trace int) Config {
	var fs []Fault
	for at := 300 * time.Millisecond; at < d; at += 500 * time.Millisecond {
		fs = append(fs, Fault{ID: uint32(len(fs)), AtUS: at.Microseconds()})
	}
	return Config{
		Timeouts: testTimeouts,
		Trace:    trace,
		Duration: d.Microseconds(),
		Faults:   fs,
		Resolve: func(*wire.Table, int) (wire.FaultCmd, error) {
			return wire.FaultCmd{Kind: wire.FaultLoadBurst, Priority: 7, Length: 20000}, nil
		},
	}
}

// run drives cfg on tg and fails the test on an error.
func run(t *testing.T, tg *scripted.Target, cfg Config) *Observation {
	t.Helper()
	obs, err := Run(context.Background(), tg, cfg)
	require.NoError(t, err)
	return obs
}

// elapsed is the board time the target's clock has run since power-on.
func elapsed(tg *scripted.Target) time.Duration { return tg.Now().Sub(scripted.Epoch) }

// The clean run every misbehaviour is compared with.
func baseline(t *testing.T) *Observation {
	obs := run(t, board(t, firmware.ProtoInherit, 1, scripted.Knobs{}), config(3*time.Second, 1))
	require.Zero(t, obs.ResetCount)
	require.Zero(t, obs.Telemetry.Retries)
	require.Zero(t, obs.Telemetry.Lost)
	require.EqualValues(t, wire.ProtoV2, obs.Proto)
	require.Greater(t, obs.Analyzer.Tasks()["bc_dist"].Jobs, uint64(20))
	return obs
}

// A board that loses the first copy of every command (CF, SF, GO, ID):
// every command is sent again with the same id, and the run is the run
// without loss, figure for figure.
func TestIgnoresFirstCopyOfEveryCommand(t *testing.T) {
	want := baseline(t)
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{IgnoreFirst: true})
	obs := run(t, tg, config(3*time.Second, 1))
	require.Positive(t, tg.Stats().Ignored)
	require.GreaterOrEqual(t, obs.Telemetry.Retries, uint64(tg.Stats().Ignored-int(obs.Telemetry.Reasks)))
	require.Zero(t, obs.ResetCount, "no reset, no hang")
	require.Equal(t, want.Analyzer.Tasks(), obs.Analyzer.Tasks())
	require.Equal(t, want.FaultsSkipped, obs.FaultsSkipped)
}

// A TK frame lost: the table is asked for again (ID) and every task's
// figures are those of the run without loss.
func TestLostTaskFrameIsRecovered(t *testing.T) {
	want := baseline(t)
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{DropTask: []int{1}})
	obs := run(t, tg, config(3*time.Second, 1))
	require.Equal(t, 1, tg.Stats().Dropped)
	require.Positive(t, obs.Telemetry.Reasks)
	require.Equal(t, want.Table, obs.Table)
	require.Equal(t, want.Analyzer.Tasks(), obs.Analyzer.Tasks())
}

// TE lost: the same.
func TestLostTableEndIsRecovered(t *testing.T) {
	want := baseline(t)
	obs := run(t, board(t, firmware.ProtoInherit, 1, scripted.Knobs{DropTableEnd: true}), config(3*time.Second, 1))
	require.Positive(t, obs.Telemetry.Reasks)
	require.Equal(t, want.Table, obs.Table)
	require.Equal(t, want.Analyzer.Tasks(), obs.Analyzer.Tasks())
}

// The banner after a reset is lost: the reboot is still seen (its table
// arrives without a banner), the banner is asked for, and the reset gets
// the reason it gave; the run goes on to its end.
func TestLostBannerAfterReset(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{DropBootAfterReset: true, ResetAtRun: time.Second})
	obs := run(t, tg, config(3*time.Second, 1))
	require.Equal(t, 1, tg.Stats().Resets)
	require.Equal(t, 1, obs.ResetCount)
	require.Equal(t, map[string]int{ResetSoftware: 1}, obs.ResetKinds, "classified from the banner asked for again")
	require.Equal(t, "SW", obs.Resets[0].Reason)
	require.InDelta(t, 3e6, float64(obs.EndUS), 50e3, "the run lasted its board time")
}

// DN lost: the run's board time has passed, the board is asked (PG) and
// repeats DN; no hang, no reset, and it costs far less than the liveness
// timeout of board time.
func TestLostDoneIsRecovered(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{DropDone: true})
	obs := run(t, tg, config(2*time.Second, 1))
	require.Equal(t, 1, tg.Stats().Dropped)
	require.Zero(t, obs.ResetCount)
	require.InDelta(t, 2e6, float64(obs.EndUS), 10e3)
	require.Less(t, elapsed(tg), 2*time.Second+testTimeouts.Liveness, "the lost DN was asked for, not waited out")
}

// The port sits on the board's output from 1 s into the run until the
// host writes: after the liveness timeout the host asks (ID), the held
// events arrive, and the run goes on to its end with no hang and no reset,
// its figures those of the run without the stall, and the stall counted.
func TestStalledBoardIsNotAHang(t *testing.T) {
	cfg := config(12*time.Second, 1)
	cfg.Faults = cfg.Faults[:4] // all uploaded before GO: the host says nothing during the run
	want := run(t, board(t, firmware.ProtoInherit, 1, scripted.Knobs{}), cfg)
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{StallAtRun: time.Second})
	obs := run(t, tg, cfg)
	require.Zero(t, obs.ResetCount, "a stalled port is not a hung board")
	require.EqualValues(t, 1, obs.Telemetry.Stalls)
	require.InDelta(t, 12e6, float64(obs.EndUS), 10e3, "the run lasted its board time")
	require.Equal(t, want.Analyzer.Tasks(), obs.Analyzer.Tasks())
}

// The stall comes at the run's end: DN arrives with the held output while
// the host asks, and the run ends there, not in a hang.
func TestStallHoldingDone(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{StallAtRun: 2999 * time.Millisecond})
	obs := run(t, tg, config(3*time.Second, 1))
	require.Zero(t, obs.ResetCount)
	require.EqualValues(t, 1, obs.Telemetry.Stalls, "DN was held with the rest")
	require.InDelta(t, 3e6, float64(obs.EndUS), 10e3)
}

// The same with a v1 board, which cannot repeat DN: the run ends by time.
func TestLostDoneOnV1Board(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{DropDone: true, V1: true})
	obs := run(t, tg, config(2*time.Second, 1))
	require.EqualValues(t, wire.ProtoV1, obs.Proto)
	require.Zero(t, obs.ResetCount)
	require.InDelta(t, 2e6, float64(obs.EndUS), 10e3)
}

// EV frames lost mid-run: the gap is counted, once per gap, and the
// analysis is told at the run time of the last event before each.
func TestGapsMidSpanAreCounted(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 2, scripted.Knobs{DropEvents: []scripted.Range{{From: 100, To: 104}, {From: 300, To: 300}}})
	cfg := config(2*time.Second, 2)
	var gaps []int64
	cfg.onGap = func(t int64) { gaps = append(gaps, t) }
	obs := run(t, tg, cfg)
	require.EqualValues(t, 6, obs.Telemetry.Lost)
	require.EqualValues(t, 2, obs.Telemetry.Gaps)
	require.Len(t, gaps, 2)
	require.Less(t, gaps[0], gaps[1])
	require.Positive(t, gaps[0])
}

// A board that resets 60 ms after every boot, at trace level 0 (no event
// but GO between resets): the run still lasts its board time, not the
// uptime of the last boot, and not 30 times longer.
func TestBoardTimeAcrossResets(t *testing.T) {
	for _, trace := range []int{0, 1} {
		tg := board(t, firmware.ProtoInherit, trace, scripted.Knobs{ResetAfter: 60 * time.Millisecond})
		cfg := config(2*time.Second, trace)
		cfg.Faults = nil
		obs := run(t, tg, cfg)
		require.Greater(t, obs.ResetCount, 20, "trace %d", trace)
		require.Equal(t, obs.ResetCount, obs.ResetKinds[ResetSoftware], "trace %d", trace)
		// Board time: the run ends once 2 s of it have passed since the
		// first GO (the first 50 ms are the first boot).
		require.InDelta(t, 2*time.Second+50*time.Millisecond, elapsed(tg), float64(80*time.Millisecond), "trace %d", trace)
	}
}

// A board whose every reset reports a brown-out: counted as a power-on
// reset with its reason kept.
func TestBrownOutReason(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{ResetAtRun: 500 * time.Millisecond, Reason: wire.ReasonBrownOut})
	obs := run(t, tg, config(time.Second, 1))
	require.Equal(t, map[string]int{ResetPowerOn: 1}, obs.ResetKinds)
	require.Equal(t, "BOR", obs.Resets[0].Reason)
}

// Boot-loader noise before the banner and console lines: the noise is
// garbage, the lines are the console, kept per reset and per run.
func TestGarbageAndConsole(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{
		Garbage:            []byte("\x00\xff\x13U-Boot\x00"),
		Console:            []string{"kernel: 6 tasks", "net: up"},
		ConsoleBeforeReset: []string{"ASSERT sched.c:88 bc_dist overrun"},
		ResetAtRun:         700 * time.Millisecond,
	})
	obs := run(t, tg, config(time.Second, 1))
	require.EqualValues(t, 10, obs.Telemetry.Garbage)
	require.EqualValues(t, 3, obs.Telemetry.Console)
	require.Len(t, obs.Resets, 1)
	var before []string
	for _, l := range obs.Resets[0].Console {
		before = append(before, l.Text)
	}
	require.Equal(t, []string{"kernel: 6 tasks", "net: up", "ASSERT sched.c:88 bc_dist overrun"}, before)
	require.Equal(t, "ASSERT sched.c:88 bc_dist overrun", obs.Console[len(obs.Console)-1].Text)
	at := obs.Console[2].AtUS
	require.True(t, at > 600e3 && at <= 700e3, "a console line is placed at the run time of the last event before it: %d", at)
}

// A board that never boots again after a reset: an error, and what was
// seen before it (the reset, the counters) is kept.
func TestNeverBootsAgain(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{NeverBootAgain: true, ResetAtRun: 500 * time.Millisecond})
	obs, err := Run(context.Background(), tg, config(2*time.Second, 1))
	require.Error(t, err)
	require.Contains(t, err.Error(), "no BOOT banner")
	require.Equal(t, 1, obs.ResetCount)
	require.Positive(t, obs.Telemetry.Frames, "counters are kept in error")
}

// The same board, driven three times in a row with one id source, as the
// runs of a campaign are: the board de-duplicates ids, and no run waits a
// boot timeout for a banner (the board is up: ID asks for it).
func TestRepeatedRunsOnOneBoard(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{})
	ids := NewIDs(0)
	for i := range 3 {
		cfg := config(time.Second, 1)
		cfg.IDs = ids
		before := elapsed(tg)
		obs := run(t, tg, cfg)
		require.Zero(t, obs.ResetCount, "run %d", i)
		took := elapsed(tg) - before
		require.Less(t, took, time.Second+time.Second/2, "run %d took %v of board time: it waited for a banner", i, took)
		require.Greater(t, obs.Analyzer.Tasks()["bc_sched"].Jobs, uint64(6), "run %d", i)
	}
}

// Ids that restart at 1 in each run meet a board that remembers them: the
// second run's commands are answered from memory and not carried out (GO
// among them), and the run sees a false hang. This is why the harness
// shares one id source.
func TestRestartedIDsBreakADeduplicatingBoard(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{})
	run(t, tg, config(10*time.Second, 1))
	obs, err := Run(context.Background(), tg, config(time.Second, 1))
	require.True(t, err != nil || obs.ResetKinds[ResetHang] > 0, "reused ids went unnoticed: %v %+v", err, obs.ResetKinds)
}

// A board that accepts faults and does nothing with them: the driver runs
// to the end (reconciliation is the analyzer's job).
func TestBoardIgnoringFaults(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{IgnoreFaults: true})
	obs := run(t, tg, config(2*time.Second, 1))
	require.Equal(t, 4, tg.Stats().FaultsIgnored)
	require.Zero(t, obs.ResetCount)
}

// A board that resets before it can be started (here 2 ms after its
// banner, and it loses the first copy of every command): the driver gives
// up after a bounded number of reboots instead of looping forever.
func TestBoardThatNeverStaysUp(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{ResetAfter: 52 * time.Millisecond, IgnoreFirst: true})
	obs, err := Run(context.Background(), tg, config(time.Second, 1))
	require.Error(t, err)
	require.Contains(t, err.Error(), "before a run could start")
	require.Greater(t, obs.ResetCount, maxResetsBeforeGo)
}

// A reset while fault uploads are in flight (every command's first copy is
// lost, so uploads wait for their resend): after the reboot the faults not
// yet fired are uploaded again, and every planned fault fires once or is
// counted skipped, never twice.
func TestResetMidRefill(t *testing.T) {
	tg := board(t, firmware.ProtoInherit, 1, scripted.Knobs{IgnoreFirst: true, ResetAtRun: 2100 * time.Millisecond})
	cfg := config(6*time.Second, 1)
	obs := run(t, tg, cfg)
	require.Equal(t, 1, obs.ResetCount)
	fired := 0
	for id, n := range tg.Stats().Begun {
		require.Equal(t, 1, n, "fault %d fired %d times", id, n)
		fired++
	}
	require.Equal(t, len(cfg.Faults), fired+obs.FaultsSkipped, "fired %d, skipped %d", fired, obs.FaultsSkipped)
	require.Positive(t, obs.Telemetry.Retries)
}
