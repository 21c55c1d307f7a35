package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// wireLog is a FrameSource in front of a Target that keeps the bytes of
// every batch, as the driver's raw log does.
type wireLog struct {
	*Target
	log bytes.Buffer
}

func (w *wireLog) ReadFrames(fs *wire.Frames, max int) (int, error) {
	n, err := w.Target.ReadFrames(fs, max)
	w.log.Write(fs.AppendWire(nil))
	return n, err
}

func (w *wireLog) IntactSource() io.Reader { return w }

// plain hides every capability of its reader: bytes only, all checked.
type plain struct{ r io.Reader }

func (p plain) Read(b []byte) (int, error) { return p.r.Read(b) }

// frameText is what a host makes of f: an EV or SM frame decoded (a
// FrameSource hands those over with no line), any other its line.
func frameText(t *testing.T, f *wire.Frame) string {
	switch f.Type {
	case wire.TypeEvent:
		ev, err := f.Event()
		require.NoError(t, err)
		return fmt.Sprintf("%+v", ev)
	case wire.TypeSummary:
		sm, err := f.Summary()
		require.NoError(t, err)
		return fmt.Sprintf("%+v", sm)
	}
	return string(f.Line)
}

// hostScript drives one board the same way whatever it is read through:
// the banner, faults scheduled, a run started, a power cycle 2 s into
// the run, the banner again, and a second run. It returns one line per frame
// (board time, type, content) and fails on any read error.
func hostScript(t *testing.T, tg *Target, r *wire.Reader) []string {
	t.Helper()
	var out []string
	clk := targets.ClockOf(tg)
	// next reads frames until one of type until, or until a read times
	// out at board time d from now (a frame that does not fit the
	// transmit buffer, DN included, is dropped).
	next := func(until wire.Type, d time.Duration) {
		require.NoError(t, tg.SetReadDeadline(clk.Now().Add(d)))
		for {
			f, err := r.Next()
			if until == wire.TypeInvalid && errors.Is(err, os.ErrDeadlineExceeded) {
				out = append(out, fmt.Sprintf("%d timeout", tg.board.Now()))
				return
			}
			require.NoError(t, err, "after %d frames", len(out))
			s := frameText(t, f)
			out = append(out, fmt.Sprintf("%d %v %s", tg.board.Now(), f.Type, s))
			if f.Type == until {
				return
			}
		}
	}
	send := func(c wire.Command) {
		_, err := tg.Write(wire.AppendCommand(nil, c))
		require.NoError(t, err)
	}
	next(wire.TypeTableEnd, 30*time.Second)
	id := uint32(1)
	for at := uint64(100_000); at < 3_000_000; at += 137_000 {
		id++
		send(wire.Command{Type: wire.TypeSchedule, ID: id, At: at, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: 5, Length: 30_000}})
		id++
		send(wire.Command{Type: wire.TypeSchedule, ID: id, At: at + 50_000, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLockHold, Task: 5, Lock: 0, Extra: 40_000}})
	}
	send(wire.Command{Type: wire.TypeStart, ID: 1, Duration: 3_000_000})
	next(wire.TypeInvalid, 2*time.Second)
	_, err := tg.PowerCycle(t.Context(), 100*time.Millisecond)
	require.NoError(t, err)
	next(wire.TypeTableEnd, 30*time.Second)
	send(wire.Command{Type: wire.TypeStart, ID: id + 1, Duration: 2_000_000})
	next(wire.TypeInvalid, 3*time.Second)
	return out
}

// The frames a Reader takes from the simulator as a FrameSource are the
// frames it decodes from the simulator's bytes, at the same board times,
// and the bytes a raw log keeps of them are the bytes: across a power
// cycle, with frames dropped by a small transmit buffer, on an unlimited
// line, on other task sets, and at the full and the default trace level.
func TestFrameSourceMatchesBytes(t *testing.T) {
	for _, url := range []string{
		"sim://pathfinder?mutex=none",
		"sim://pathfinder?mutex=inherit&baud=19200&buffer=1024",
		"sim://pathfinder?mutex=ceiling&baud=0",
		// Task sets other than Pathfinder: a small one, and one whose
		// full trace fills most of 921600 baud.
		"sim://" + mustAbs(t, "../../firmware/testdata/demo.yaml") + "?mutex=inherit&baud=115200",
		"sim://" + mustAbs(t, "../../cmd/hilchaos/testdata/heavy.yaml") + "?mutex=none",
	} {
		for _, trace := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/trace=%d", url, trace), func(t *testing.T) {
				open := func() *Target {
					tg, err := targets.Open(url, targets.Options{Seed: 11, Trace: trace})
					require.NoError(t, err)
					t.Cleanup(func() { tg.Close() })
					return tg.(*Target)
				}
				a := open()
				var raw bytes.Buffer
				byBytes := hostScript(t, a, wire.NewReader(io.TeeReader(plain{a}, &raw)))

				b := &wireLog{Target: open()}
				r := wire.NewReader(b)
				byFrames := hostScript(t, b.Target, r)

				require.Equal(t, byBytes, byFrames)
				assert.True(t, bytes.Equal(raw.Bytes(), b.log.Bytes()), "the raw log of the frames is the bytes (%d and %d bytes)", raw.Len(), b.log.Len())
				assert.Equal(t, uint64(raw.Len()), r.Stats().Bytes, "the Reader counts the frames' bytes on the wire")
				if trace == 1 && url == "sim://pathfinder?mutex=inherit&baud=19200&buffer=1024" {
					assert.Contains(t, raw.String(), ",DR,", "the small buffer drops frames, and says so")
				}
			})
		}
	}
}

// A Read too short for a frame cuts it, and the rest is still the
// frame's: bytes read in pieces are the bytes read whole.
func TestShortReadsCutFrames(t *testing.T) {
	read := func(size int) []byte {
		tg, err := targets.Open("sim://pathfinder", targets.Options{Seed: 3, Trace: 2})
		require.NoError(t, err)
		defer tg.Close()
		require.NoError(t, tg.SetReadDeadline(targets.ClockOf(tg).Now().Add(time.Second)))
		var out []byte
		buf := make([]byte, size)
		for {
			n, err := tg.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				return out
			}
		}
	}
	whole := read(64 << 10)
	require.Contains(t, string(whole), "$TE,")
	for _, size := range []int{1, 7, 40, 100} {
		assert.Equal(t, string(whole), string(read(size)), "reads of %d bytes", size)
	}
}

func TestWireParameter(t *testing.T) {
	tg, err := targets.Open("sim://pathfinder?wire=bytes", targets.Options{})
	require.NoError(t, err)
	defer tg.Close()
	_, isFS := tg.(wire.FrameSource)
	in, isIntact := tg.(wire.Intact)
	assert.False(t, isFS && in.IntactSource() == tg, "wire=bytes: not a FrameSource the Reader takes")
	assert.True(t, isIntact && in.IntactSource() != tg, "wire=bytes: not intact either, every CRC is checked")
	_, ok := tg.(targets.Clock)
	assert.True(t, ok, "wire=bytes keeps the virtual clock")

	_, err = targets.Open("sim://pathfinder?wire=morse", targets.Options{})
	assert.ErrorContains(t, err, `wire "morse"`)
}

// scriptRun drives tg by script, a host's behaviour in bytes (see
// FuzzFrameSourceMatchesBytes), and returns one line per frame or read
// error, each with the board time it came at.
func scriptRun(t *testing.T, tg *Target, r *wire.Reader, script []byte) []string {
	t.Helper()
	var out []string
	clk := targets.ClockOf(tg)
	next := func() byte {
		if len(script) == 0 {
			return 0
		}
		b := script[0]
		script = script[1:]
		return b
	}
	send := func(c wire.Command) {
		_, err := tg.Write(wire.AppendCommand(nil, c))
		require.NoError(t, err)
	}
	read := func(d time.Duration) {
		require.NoError(t, tg.SetReadDeadline(clk.Now().Add(d)))
		for {
			f, err := r.Next()
			if err != nil {
				out = append(out, fmt.Sprintf("%d error %v", tg.board.Now(), errors.Is(err, os.ErrDeadlineExceeded)))
				return
			}
			s := frameText(t, f)
			out = append(out, fmt.Sprintf("%d %v %s", tg.board.Now(), f.Type, s))
		}
	}
	read(100 * time.Millisecond)
	for id := uint32(1); len(script) > 0 && id < 200; id++ {
		switch op := next() % 14; op {
		case 0:
			read(time.Duration(next()) * 10 * time.Millisecond)
		case 1:
			send(wire.Command{Type: wire.TypeStart, ID: id, Duration: uint64(next()) * 100_000})
		case 2:
			send(wire.Command{Type: wire.TypeStop, ID: id})
		case 3:
			send(wire.Command{Type: wire.TypeSchedule, ID: id, At: uint64(next()) * 20_000, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: int(next() % 12), Length: uint64(next()) * 500}})
		case 4:
			send(wire.Command{Type: wire.TypeSchedule, ID: id, At: uint64(next()) * 20_000, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLockHold, Task: int(next() % 7), Lock: 0, Extra: uint64(next()) * 500}})
		case 5:
			send(wire.Command{Type: wire.TypeFire, ID: id, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: 5, Length: uint64(next()) * 500}})
		case 6:
			send(wire.Command{Type: wire.TypeIdentify, ID: id})
		case 7:
			send(wire.Command{Type: wire.TypeReset, ID: id})
		case 8:
			send(wire.Command{Type: wire.TypeDump, ID: id})
		case 9:
			_, err := tg.PowerCycle(t.Context(), time.Duration(next())*5*time.Millisecond)
			require.NoError(t, err)
		case 10:
			send(wire.Command{Type: wire.TypeConfig, ID: id, Key: "trace", Value: fmt.Sprint(next() % 3)})
		case 11:
			send(wire.Command{Type: wire.TypeSchedule, ID: id, At: uint64(next()) * 20_000, Fault: wire.FaultCmd{ID: id, Kind: wire.FaultIRQStorm, Priority: 0, Period: 30 + uint64(next()), Length: uint64(next()) * 200}})
		case 12:
			send(wire.Command{Type: wire.TypePing, ID: id})
		case 13:
			// garbage and a cut command: the board's receiver, not the UART
			_, err := tg.Write([]byte("$SF,1,2,3\n\x00junk$GO"))
			require.NoError(t, err)
		}
	}
	read(time.Second)
	return out
}

// Any host behaviour gives the same frames at the same board times, and
// the same bytes, whether the Reader takes the simulator's frames or
// decodes its bytes: commands of every kind, resets, power cycles, trace
// level changes, and lines and buffers of every size.
func FuzzFrameSourceMatchesBytes(f *testing.F) {
	f.Add([]byte{0, 1, 1, 50, 3, 10, 5, 60, 4, 20, 5, 100, 0, 200, 0, 200})
	f.Add([]byte{7, 2, 1, 30, 11, 5, 10, 100, 0, 250, 9, 30, 0, 100, 6, 0, 50})
	f.Add([]byte{12, 1, 10, 2, 1, 40, 0, 120, 8, 7, 0, 90, 1, 20, 0, 255})
	f.Add([]byte{3, 0, 1, 255, 0, 255, 0, 255, 2, 0, 50, 13, 12, 0, 10})
	f.Add([]byte{21, 2, 1, 80, 5, 200, 5, 200, 5, 200, 0, 255, 0, 255, 9, 0, 0, 100})
	bauds := []string{"0", "4800", "19200", "115200", "921600"}
	buffers := []string{"4096", "512", "1024", "65536"}
	mutexes := []string{"none", "inherit", "ceiling"}
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) < 2 || len(script) > 400 {
			return
		}
		c := int(script[0])
		url := fmt.Sprintf("sim://pathfinder?mutex=%s&baud=%s&buffer=%s", mutexes[c%3], bauds[c/3%5], buffers[c/15%4])
		trace := int(script[1] % 3)
		open := func() *Target {
			tg, err := targets.Open(url, targets.Options{Seed: uint64(c), Trace: trace})
			require.NoError(t, err)
			t.Cleanup(func() { tg.Close() })
			return tg.(*Target)
		}
		a := open()
		var raw bytes.Buffer
		byBytes := scriptRun(t, a, wire.NewReader(io.TeeReader(plain{a}, &raw)), script[2:])
		b := &wireLog{Target: open()}
		byFrames := scriptRun(t, b.Target, wire.NewReader(b), script[2:])
		require.Equal(t, byBytes, byFrames, "%s trace %d", url, trace)
		require.True(t, bytes.Equal(raw.Bytes(), b.log.Bytes()), "%s trace %d: the raw log", url, trace)
	})
}
