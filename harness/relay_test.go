package harness

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/boardserver"
	_ "github.com/hilchaos/hilchaos/targets/serial" // the serial:// scheme
	"github.com/hilchaos/hilchaos/targets/targettest"
	_ "github.com/hilchaos/hilchaos/targets/tcp" // the tcp:// scheme
	"github.com/hilchaos/hilchaos/targets/wire"
	"github.com/stretchr/testify/require"
)

// relay sits between a board on one PTY and the host on a second PTY, as a
// noisy cable would: every byte from the board has its one random bit
// flipped with probability ppm/1e6. Host to board bytes pass untouched.
type relay struct {
	// dropEvery, when set, drops every dropEvery-th 100 ms window of
	// board time instead of flipping bits (a link that loses chunks):
	// see windowDropper.
	dropEvery int64
	dropped   atomic.Uint64 // bytes dropped
	windows   atomic.Uint64 // windows dropped
	ppm       atomic.Uint64
	armOnGO   uint64 // the rate to switch to when the board's GO event passes, 0: none
	Path      string // the host's end
	flipped   atomic.Uint64
}

// startRelay relays the board on boardPath to a new PTY; flips start at
// once (fromBoot) or when the run starts.
func startRelay(t *testing.T, boardPath string, ppm uint64, fromBoot bool, dropEvery ...int64) *relay {
	t.Helper()
	in, err := os.OpenFile(boardPath, os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	host, err := boardserver.OpenPTY("")
	require.NoError(t, err)
	r := &relay{Path: host.Path}
	if len(dropEvery) > 0 {
		r.dropEvery = dropEvery[0]
	}
	if fromBoot {
		r.ppm.Store(ppm)
	} else {
		r.armOnGO = ppm
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // board to host, with noise
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1997, ppm))
		buf := make([]byte, 4096)
		var tail []byte
		wd := &windowDropper{every: r.dropEvery}
		for {
			n, err := in.Read(buf)
			if err != nil {
				return
			}
			p := buf[:n]
			if r.dropEvery > 0 {
				out, dropped, windows := wd.filter(p)
				r.dropped.Add(dropped)
				r.windows.Add(windows)
				if _, err := host.Master.Write(out); err != nil {
					return
				}
				continue
			}
			if r.armOnGO != 0 && r.ppm.Load() == 0 {
				seen := append(tail, p...)
				if bytes.Contains(seen, []byte(",GO,")) && bytes.Contains(seen, []byte("$EV,")) {
					r.ppm.Store(r.armOnGO)
				}
				tail = append(tail[:0], seen[max(0, len(seen)-16):]...)
			}
			if rate := r.ppm.Load(); rate > 0 {
				for i := range p {
					if rng.Uint64N(1_000_000) < rate {
						p[i] ^= 1 << rng.UintN(8)
						r.flipped.Add(1)
					}
				}
			}
			if _, err := host.Master.Write(p); err != nil {
				return
			}
		}
	}()
	go func() { // host to board
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, err := host.Master.Read(buf)
			if err != nil {
				return
			}
			if _, err := in.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		host.Close()
		wg.Wait()
	})
	return r
}

// windowDropper loses the board's output in every every-th 100 ms window
// of board time counted from the run's first GO event, across reboots
// (the board time of each boot is added to that of the boots before):
// the run's windows 5, 15, 25... with every = 10. (Not 9, 19, 29: at
// trace level 1 the Pathfinder board sends nothing in those, as in 4, 14
// and 24; a lost window must lose something.) Board time, not the
// host's clock, decides, so the same stretches of the run are lost
// whatever the load on the machine: those holding the same events, the
// same SM, and on the failing board the same banners and tables after a
// reset. A window's first line is cut in the middle (a chunk boundary
// falls mid-frame); the lines after it up to the window's end, timed or
// not (AK, TK, console), are lost whole.
type windowDropper struct {
	every    int64
	line     []byte
	f        wire.Frame
	started  bool   // the first GO event passed
	goAt     int64  // its board time, µs since its boot
	offset   int64  // board µs of the boots before the current one
	last     int64  // latest board time seen in the current boot
	boot     uint32 // the current boot's count
	dropping bool
}

// filter returns what of p passes, and the bytes and windows dropped.
// Whole lines are decided on; a partial line waits for its end.
func (w *windowDropper) filter(p []byte) (out []byte, dropped, windows uint64) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.line = append(w.line, p...)
			if len(w.line) > 4*wire.MaxFrame { // not frames: pass on
				out = append(out, w.line...)
				w.line = w.line[:0]
			}
			break
		}
		w.line = append(w.line, p[:i+1]...)
		p = p[i+1:]
		was := w.dropping
		w.clock(bytes.TrimRight(w.line, "\r\n"))
		switch {
		case w.dropping && !was:
			windows++
			half := len(w.line) / 2
			out = append(out, w.line[:half]...)
			dropped += uint64(len(w.line) - half)
		case w.dropping:
			dropped += uint64(len(w.line))
		default:
			out = append(out, w.line...)
		}
		w.line = w.line[:0]
	}
	return out, dropped, windows
}

// clock reads the board time a frame carries, if any, and decides
// whether the line falls in a dropped window.
func (w *windowDropper) clock(line []byte) {
	if wire.ParseFrame(line, &w.f) != nil {
		return
	}
	var at int64
	switch w.f.Type {
	case wire.TypeEvent:
		ev, err := w.f.Event()
		if err != nil {
			return
		}
		at = int64(ev.Time)
		if ev.Kind == wire.EvRun && !w.started {
			w.started, w.goAt = true, at
		}
	case wire.TypeSummary:
		sm, err := w.f.Summary()
		if err != nil {
			return
		}
		at = int64(sm.Time)
	case wire.TypeDone:
		_, t, err := w.f.Done()
		if err != nil {
			return
		}
		at = int64(t)
	case wire.TypeBoot:
		b, err := w.f.Boot()
		if err != nil {
			return
		}
		if b.BootCount != w.boot && w.boot != 0 {
			w.offset += w.last // a reboot: its board time adds on
			w.last = 0
		}
		w.boot = b.BootCount
		at = int64(b.Uptime)
	default:
		return // no time: the line shares the window of the one before
	}
	w.last = max(w.last, at)
	if w.started {
		k := (w.offset + at - w.goAt) / 100_000
		w.dropping = k >= 0 && k%w.every == w.every/2
	}
}

// noisyRun runs the Pathfinder campaign for d of board time on a PTY board
// with mutex behind a relay flipping ppm of the bytes it sends (or, with
// dropEvery, dropping every dropEvery-th 100 ms window of board time).
func noisyRun(t *testing.T, mutex firmware.Protocol, ppm uint64, fromBoot bool, d time.Duration, dropEvery ...int64) (*RunRecord, *relay, error) {
	t.Helper()
	p, err := firmware.Lookup("pathfinder")
	require.NoError(t, err)
	b := targettest.StartPTYBoard(t, boardserver.Config{Profile: p, Board: firmware.Config{Mutex: mutex, Trace: 1}})
	r := startRelay(t, b.Path(), ppm, fromBoot, dropEvery...)
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: d, Target: "serial://" + r.Path, Repeat: 1})
	require.NoError(t, err)
	// One flipped byte in a hundred spoils about a quarter of the frames
	// (a frame is 25-40 bytes). Under the default max_loss of 1 % such a
	// run is inconclusive; these runs accept up to half, as a campaign on
	// a bad line may, to show that what does arrive gives true figures.
	c.MaxLoss = 0.5
	start := time.Now()
	sum, err := Execute(context.Background(), c, Options{})
	require.Len(t, sum.Runs, 1, "%v", err)
	rec := &sum.Runs[0]
	t.Logf("mutex %v, %d ppm: %s in %v; resets %+v; telemetry %+v; err %v", mutex, ppm, rec.Verdict, time.Since(start).Round(time.Millisecond), rec.Resets, rec.Telemetry, err)
	if rec.Evidence != nil && len(rec.Evidence.Missing) > 0 {
		t.Logf("missing evidence: %q", rec.Evidence.Missing)
	}
	return rec, r, err
}

// Must show: at 1 % of flipped bytes during the run a passing board passes
// and a failing board fails, and the record says how noisy the link was.
// No false reset or hang either, and the failing board's watchdog resets
// are seen.
func TestRelayOnePercentDuringTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, c := range []struct {
		mutex firmware.Protocol
		want  string
	}{{firmware.ProtoInherit, Pass}, {firmware.ProtoNone, Fail}} {
		rec, r, err := noisyRun(t, c.mutex, 10_000, false, 3*time.Second)
		require.NoError(t, err)
		require.Zero(t, rec.Resets.Hang+rec.Resets.Unknown+rec.Resets.Brick, "mutex %v: %+v", c.mutex, rec.Resets)
		if c.mutex == firmware.ProtoNone {
			require.Positive(t, rec.Resets.Watchdog, "the 1997 board resets")
		} else {
			require.Zero(t, rec.Resets.Watchdog)
		}
		require.Equal(t, c.want, rec.Verdict, "mutex %v: %+v %s %v", c.mutex, rec.Checks, rec.Error, rec.Evidence)
		require.Positive(t, r.flipped.Load())
		tm := rec.Telemetry
		require.Positive(t, tm.BadCRC+tm.Malformed+tm.Truncated+tm.TooLong, "mutex %v: %+v", c.mutex, tm)
		require.Positive(t, tm.Lost, "mutex %v: %+v", c.mutex, tm)
	}
}

// Must show: at 5 % a passing board never gets FAIL: it passes, or the run
// is inconclusive (an error, exit 3).
func TestRelayFivePercentNeverFailsAPassingBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	rec, _, err := noisyRun(t, firmware.ProtoInherit, 50_000, false, 3*time.Second)
	require.NotEqual(t, Fail, rec.Verdict, "%+v %+v %v", rec.Checks, rec.Telemetry, err)
}

// Must show: at 1 % from boot the run starts: the banner and table are
// asked for again until complete.
func TestRelayOnePercentFromBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	rec, _, err := noisyRun(t, firmware.ProtoInherit, 10_000, true, 2*time.Second)
	require.NoError(t, err, "%+v", rec.Telemetry)
	require.Equal(t, Pass, rec.Verdict, "%+v %v", rec.Checks, rec.Evidence)
	require.Positive(t, rec.Telemetry.Reasks, "the banner and table were asked for")
	require.Positive(t, rec.Telemetry.BadCRC+rec.Telemetry.Truncated+rec.Telemetry.Malformed)
}

// Must show: the drift estimate of a board whose clock is the host's own
// (a PTY board paced to this machine's clock) stays within 100 ppm of 0
// across resets, direct and through ser2net. The board hangs once (it is
// reset, and boots again). The run is 20 s, leaving the second boot 12 s
// of board time: through ser2net the fastest reads of a stretch vary by a
// few hundred µs with what the board sends around them (ser2net waits for
// the line to go quiet before it forwards), which over the 2 s the second
// boot had in a 10 s run was up to 200 ppm of apparent drift.
func TestDriftNearZeroAcrossResets(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, via := range []string{"direct", "ser2net"} {
		t.Run(via, func(t *testing.T) {
			driftAcrossResets(t, via)
		})
	}
}

func driftAcrossResets(t *testing.T, via string) {
	p, err := firmware.Lookup("pathfinder")
	require.NoError(t, err)
	b := targettest.StartPTYBoard(t, boardserver.Config{Profile: p, Board: firmware.Config{Mutex: firmware.ProtoInherit, Trace: 2},
		FreezeAfter: 3 * time.Second})
	target := "serial://" + b.Path()
	if via == "ser2net" {
		target = "tcp://" + targettest.Ser2net(t, b.Path())
	}
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: 20 * time.Second, Target: target, Repeat: 1})
	require.NoError(t, err)
	c.Timeouts.Liveness, c.Timeouts.Boot = time.Second, 2*time.Second
	sum, err := Execute(context.Background(), c, Options{})
	require.NoError(t, err)
	rec := sum.Runs[0]
	require.Equal(t, 1, rec.Resets.Hang, "%+v", rec.ResetLog)
	require.NotNil(t, rec.Link)
	require.NotNil(t, rec.Link.Clock)
	t.Logf("%+v", rec.Link.Clock)
	require.InDelta(t, 0, rec.Link.Clock.DriftPPM, 100)
}

// Every 10th 100 ms window of board output lost during the run (the
// issue's "10 % of 100 ms chunks dropped", "exit 3 after 16 s, banner lost
// after RS"): the passing board passes and the failing board fails, with
// the loss in the record. The windows are counted in board time from the
// run's start (windowDropper), so every run loses the same stretches of
// the run, whatever the load on the host: windows 5, 15 and 25 of the
// passing board's 3 s, and the same stretches of the failing board's,
// which resets about once a second.
func TestRelayDroppedWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, c := range []struct {
		mutex firmware.Protocol
		want  string
	}{{firmware.ProtoInherit, Pass}, {firmware.ProtoNone, Fail}} {
		rec, r, err := noisyRun(t, c.mutex, 1, false, 3*time.Second, 10)
		require.NoError(t, err, "mutex %v", c.mutex)
		t.Logf("mutex %v: %d windows, %d bytes dropped", c.mutex, r.windows.Load(), r.dropped.Load())
		require.GreaterOrEqual(t, r.windows.Load(), uint64(2), "mutex %v: windows 5 and 15 of the run at least", c.mutex)
		require.Equal(t, c.want, rec.Verdict, "mutex %v: %+v %s %v", c.mutex, rec.Checks, rec.Error, err)
		tm := rec.Telemetry
		require.Positive(t, tm.Lost, "mutex %v: %+v", c.mutex, tm)
		if rec.Resets.Total() == 0 {
			require.Equal(t, r.windows.Load(), tm.Gaps, "mutex %v: each lost window is one sequence gap: %+v", c.mutex, tm)
		} else {
			// A window that ends in a reboot loses the boot's last frames:
			// no later frame of that boot shows the gap.
			require.Positive(t, tm.Gaps, "mutex %v: %+v", c.mutex, tm)
		}
		require.Positive(t, tm.Truncated+tm.Garbage+tm.BadCRC+tm.Malformed, "mutex %v: the cut frames are seen: %+v", c.mutex, tm)
	}
}

// Must show: --repeat 3 against a board that stays up and de-duplicates
// ids (the PTY reference board): three runs, and between the end of one
// (its DN) and the start of the next (its GO event) less board time than
// a boot timeout: no run waits for a banner the board will not send.
func TestRepeatOnOneDeduplicatingBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	p, err := firmware.Lookup("pathfinder")
	require.NoError(t, err)
	b := targettest.StartPTYBoard(t, boardserver.Config{Profile: p, Board: firmware.Config{Mutex: firmware.ProtoInherit, Trace: 1}})
	// 2 s: bc_dist, the checked task, shows 16 jobs, above min_jobs.
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: 2 * time.Second, Target: "serial://" + b.Path(), Repeat: 3})
	require.NoError(t, err)
	c.MinJobs = 5 // a 1 s run sees 8 bc_dist jobs, fewer than the default min_jobs
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	sum, err := Execute(context.Background(), c, Options{Store: st})
	require.NoError(t, err)
	require.Len(t, sum.Runs, 3)
	var goAt, dnAt []uint64 // board µs since its one boot
	for i, r := range sum.Runs {
		require.Equal(t, Pass, r.Verdict, "run %d: %s", i, r.Error)
		require.Zero(t, r.Resets.Total(), "run %d", i)
		tr, err := tracelog.Open(filepath.Join(dir, r.Trace))
		require.NoError(t, err)
		rd := wire.NewReader(tr)
		for {
			f, err := rd.Next()
			if err != nil {
				break
			}
			if ev, err := f.Event(); err == nil && f.Type == wire.TypeEvent && ev.Kind == wire.EvRun {
				goAt = append(goAt, ev.Time)
			}
			if _, at, err := f.Done(); err == nil {
				dnAt = append(dnAt, at)
			}
		}
		tr.Close()
	}
	require.Len(t, goAt, 3)
	require.Len(t, dnAt, 3)
	for i := 1; i < 3; i++ {
		between := time.Duration(goAt[i]-dnAt[i-1]) * time.Microsecond
		t.Logf("board time from run %d's DN to run %d's GO: %v", i-1, i, between)
		require.Less(t, between, c.Timeouts.Boot, "run %d waited for a banner", i)
	}
}
