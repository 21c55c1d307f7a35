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
			var s string
			switch f.Type {
			case wire.TypeEvent:
				ev, err := f.Event()
				require.NoError(t, err)
				s = fmt.Sprintf("%+v", ev)
			default:
				s = string(f.Line)
			}
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
// line, and at the full and the default trace level.
func TestFrameSourceMatchesBytes(t *testing.T) {
	for _, url := range []string{
		"sim://pathfinder?mutex=none",
		"sim://pathfinder?mutex=inherit&baud=19200&buffer=1024",
		"sim://pathfinder?mutex=ceiling&baud=0",
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
