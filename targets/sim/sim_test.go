package sim

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// session opens a board, starts a run of d and returns every byte it sent
// until DN.
func session(t *testing.T, url string, seed uint64, d time.Duration) []byte {
	t.Helper()
	tg, err := targets.Open(url, targets.Options{Seed: seed, Trace: 2})
	require.NoError(t, err)
	defer tg.Close()
	var got bytes.Buffer
	r := wire.NewReader(io.TeeReader(tg, &got))
	clk := targets.ClockOf(tg)
	require.NoError(t, tg.SetReadDeadline(clk.Now().Add(time.Second)))
	for {
		f, err := r.Next()
		require.NoError(t, err)
		if f.Type == wire.TypeTableEnd {
			break
		}
	}
	_, err = tg.Write(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 1, Duration: uint64(d.Microseconds())}))
	require.NoError(t, err)
	require.NoError(t, tg.SetReadDeadline(clk.Now().Add(d+time.Second)))
	for {
		f, err := r.Next()
		require.NoError(t, err)
		if f.Type == wire.TypeDone {
			return got.Bytes()
		}
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	a := session(t, "sim://pathfinder?mutex=none", 7, 5*time.Second)
	b := session(t, "sim://pathfinder?mutex=none", 7, 5*time.Second)
	c := session(t, "sim://pathfinder?mutex=none", 8, 5*time.Second)
	assert.True(t, bytes.Equal(a, b), "a run is bit-for-bit reproducible from its seed")
	assert.False(t, bytes.Equal(a, c), "another seed draws other execution times")
}

func TestDeadlineIsVirtual(t *testing.T) {
	tg, err := targets.Open("sim://pathfinder", targets.Options{Seed: 1})
	require.NoError(t, err)
	clk := targets.ClockOf(tg)
	start := clk.Now()
	buf := make([]byte, 4096)
	// The banner and table come first; then the idle board is silent until
	// the deadline, which passes in virtual time: an hour costs nothing.
	require.NoError(t, tg.SetReadDeadline(start.Add(time.Hour)))
	for {
		_, err = tg.Read(buf)
		if err != nil {
			break
		}
	}
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Equal(t, start.Add(time.Hour), clk.Now(), "the board clock stands at the deadline")

	require.NoError(t, tg.SetReadDeadline(time.Time{}))
	_, err = tg.Read(buf)
	assert.True(t, errors.Is(err, ErrIdle), "an idle board with no deadline says so instead of blocking forever: %v", err)

	require.NoError(t, tg.Close())
	_, err = tg.Read(buf)
	assert.ErrorIs(t, err, os.ErrClosed)
}

func TestURLErrors(t *testing.T) {
	for url, want := range map[string]string{
		"sim://nowhere":                 `profile "nowhere"`,
		"sim://pathfinder?mutex=maybe":  "mutex",
		"sim://pathfinder?baud=fast":    "baud",
		"sim://pathfinder?colour=green": `unknown parameter "colour"`,
		"sim://":                        "names no profile",
	} {
		_, err := targets.Open(url, targets.Options{})
		var ue *targets.URLError
		if assert.ErrorAs(t, err, &ue, url) {
			assert.Contains(t, err.Error(), want, url)
		}
	}
}

func TestTaskSetFromFile(t *testing.T) {
	tg, err := targets.Open("sim://"+mustAbs(t, "../../firmware/testdata/demo.yaml")+"?mutex=ceiling", targets.Options{})
	require.NoError(t, err)
	r := wire.NewReader(tg)
	require.NoError(t, tg.SetReadDeadline(targets.ClockOf(tg).Now().Add(time.Second)))
	f, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, wire.TypeBoot, f.Type)
}

func mustAbs(t *testing.T, p string) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd + "/" + p
}

// A one-byte buffer (iotest.OneByteReader, a caller reading byte by byte)
// must still run the board: Read returns a byte, never (0, nil) forever.
func TestReadOneByteAtATime(t *testing.T) {
	tg, err := targets.Open("sim://pathfinder", targets.Options{Seed: 1})
	require.NoError(t, err)
	defer tg.Close()
	clk := targets.ClockOf(tg)
	require.NoError(t, tg.SetReadDeadline(clk.Now().Add(time.Second)))
	r := wire.NewReader(iotest.OneByteReader(tg))
	for {
		f, err := r.Next()
		require.NoError(t, err)
		if f.Type == wire.TypeTableEnd {
			return
		}
	}
}
