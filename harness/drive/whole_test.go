package drive

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/scripted"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// detTarget is a scripted board that says whether it is deterministic
// and keeps every command the host wrote after GO.
type detTarget struct {
	*scripted.Target
	det    bool
	goSeen bool
	after  []byte // bytes written after the first GO
}

var _ targets.Deterministic = (*detTarget)(nil)

func (d *detTarget) Deterministic() bool { return d.det }

func (d *detTarget) Write(p []byte) (int, error) {
	switch {
	case d.goSeen:
		d.after = append(d.after, p...)
	default:
		if i := bytes.Index(p, []byte("$GO,")); i >= 0 {
			d.goSeen = true
			if j := bytes.IndexByte(p[i:], '\n'); j >= 0 {
				d.after = append(d.after, p[i+j+1:]...)
			}
		}
	}
	return d.Target.Write(p)
}

// goUptime is the board time of the first GO event in a wire stream.
func goUptime(t *testing.T, raw []byte) int64 {
	t.Helper()
	r := wire.NewReader(bytes.NewReader(raw))
	for {
		f, err := r.Next()
		require.NoError(t, err, "no GO event")
		if f.Type != wire.TypeEvent {
			continue
		}
		if ev, err := f.Event(); err == nil && ev.Kind == wire.EvRun {
			return int64(ev.Time)
		}
	}
}

// Where a run of d µs may start on the board's clock (µs of uptime) so
// that its timestamps keep their number of digits: now when they do, else
// at the next power of ten that leaves room for the run, never after a
// wait longer than the run (or 10 s).
func TestSteadyStart(t *testing.T) {
	for _, c := range []struct{ u, d, want int64 }{
		{1e6, 3e6, 0},         // 1 to 5 s: 7 digits throughout
		{5e6, 3e6, 0},         // ends at 9 s, slack included
		{7.5e6, 3e6, 10e6},    // would cross 10 s
		{5.4e6, 24e6, 10e6},   // the repeatability test's 24 s run
		{12e6, 24e6, 0},       // 8 digits already, and up to 37 s
		{80e6, 24e6, 100e6},   // would cross 100 s: wait 20 s for it
		{5e6, 95e6, 100e6},    // 95 s fit only from 100 s: a 95 s wait
		{5e6, 91e6, -1},       // the same wait for a 91 s run: too long
		{5e6, 7200e6, 1000e6}, // two hours fit from 1000 s on
	} {
		require.Equal(t, c.want, steadyStart(c.u, c.d), "uptime %d µs, run %d µs", c.u, c.d)
	}
	require.Equal(t, int64(10), nextWidth(0))
	require.Equal(t, int64(10e6), nextWidth(9_999_999))
	require.Equal(t, int64(100e6), nextWidth(10e6))
}

// commands lists the command types in b ("SF", "PG", ...).
func commands(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) >= 3 && l[0] == '$' {
			out = append(out, l[1:3])
		}
	}
	return out
}

// On a deterministic target (QEMU with icount) the whole plan of a 30 s
// run (60 firings, far beyond the 2 s / 8 firings the driver keeps on the
// board otherwise) is uploaded before GO, and the host writes nothing at
// all while the run goes; every firing fires once. The same run on an
// ordinary target tops the board's table up during the run: what the
// deterministic path must not do.
func TestDeterministicTargetGetsTheWholePlanBeforeGO(t *testing.T) {
	const d = 30 * time.Second
	cfg := config(d, 1)
	require.Len(t, cfg.Faults, 60)
	for _, det := range []bool{true, false} {
		tg := &detTarget{Target: board(t, firmware.ProtoInherit, 1, scripted.Knobs{}), det: det}
		var raw bytes.Buffer
		cfg.Raw = &raw
		obs, err := Run(context.Background(), tg, cfg)
		require.NoError(t, err)
		// Where the run started on the board's clock (steadyStart): a
		// deterministic board idles to 10 s of uptime first, so that the
		// run's timestamps have 8 digits from GO to DN.
		goAt := goUptime(t, raw.Bytes())
		if det {
			require.GreaterOrEqual(t, goAt, int64(10e6))
			require.Less(t, goAt+d.Microseconds(), int64(100e6))
		} else {
			require.Less(t, goAt, int64(10e6), "an ordinary board starts at once")
		}
		require.True(t, tg.goSeen)
		require.Zero(t, obs.ResetCount)
		require.GreaterOrEqual(t, obs.EndUS, d.Microseconds())
		fired := 0
		for id, n := range tg.Stats().Begun {
			require.Equal(t, 1, n, "fault %d fired %d times", id, n)
			fired++
		}
		require.Equal(t, len(cfg.Faults), fired, "deterministic %v", det)
		if det {
			require.Empty(t, commands(tg.after), "deterministic: written during the run")
		} else {
			require.Contains(t, commands(tg.after), "SF", "an ordinary target gets its table topped up during the run")
		}
	}
}

// A plan larger than the board's fault table (the Go model holds 1024)
// fails on a deterministic target before GO, naming both numbers; the
// error is a refusal (exit 2: invalid input), not a rig failure.
func TestDeterministicPlanLargerThanTheBoard(t *testing.T) {
	const d = 12 * time.Second
	var fs []Fault
	for at := 100 * time.Millisecond; at < d; at += 10 * time.Millisecond {
		fs = append(fs, Fault{ID: uint32(len(fs)), AtUS: at.Microseconds()})
	}
	cfg := Config{
		Timeouts: testTimeouts,
		Trace:    1,
		Duration: d.Microseconds(),
		Faults:   fs,
		Resolve: func(*wire.Table, int) (wire.FaultCmd, error) {
			return wire.FaultCmd{Kind: wire.FaultLoadBurst, Priority: 7, Length: 1000}, nil
		},
	}
	tg := &detTarget{Target: board(t, firmware.ProtoInherit, 1, scripted.Knobs{}), det: true}
	_, err := Run(context.Background(), tg, cfg)
	var re *RefusedError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Contains(t, err.Error(), "holds 1024 scheduled faults")
	require.Contains(t, err.Error(), "plan 1190 firings")
	require.False(t, tg.goSeen, "no GO after the refusal")
}
