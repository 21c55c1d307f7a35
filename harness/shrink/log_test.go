package shrink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogRoundTripAndTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shrink", LogFile)
	l, err := OpenLog(path)
	require.NoError(t, err)
	require.NoError(t, l.append(Entry{Key: "k1", Rep: 0, Step: "check", Firings: 3, Outcome: Outcome{Failed: true, Signature: sig, BoardUS: 5, FailAtUS: 2}}))
	require.NoError(t, l.append(Entry{Key: "k1", Rep: 1, Outcome: Outcome{BoardUS: 5, FailAtUS: -1}}))
	require.NoError(t, l.Close())

	// A kill during the third write leaves half a line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"key":"k2","rep":0,"fai`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l, err = OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	assert.Error(t, l.Warning)
	assert.Equal(t, 2, l.Len())
	o, ok := l.lookup("k1", 0)
	require.True(t, ok)
	assert.Equal(t, Outcome{Failed: true, Signature: sig, BoardUS: 5, FailAtUS: 2}, o)
	_, ok = l.lookup("k2", 0)
	assert.False(t, ok)
	// The next entry starts on a line of its own.
	require.NoError(t, l.append(Entry{Key: "k3", Rep: 0}))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(data), "\n"))
	assert.NotContains(t, string(data), "fai\n")
}

func TestLogDamagedLineIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), LogFile)
	require.NoError(t, os.WriteFile(path, []byte("{\"key\":\"a\",\"rep\":0}\nnot json\n{\"key\":\"b\",\"rep\":0}\n"), 0o644))
	_, err := OpenLog(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), LogFile+":2")
}

// FuzzOpenLog: whatever the trial log holds, opening it never panics,
// and what it accepts it reads back the same after a reopen.
func FuzzOpenLog(f *testing.F) {
	f.Add([]byte("{\"key\":\"a\",\"rep\":0,\"failed\":true,\"signature\":\"reset:watchdog\",\"board_us\":1,\"fail_at_us\":2}\n"))
	f.Add([]byte("{\"key\":\"a\",\"rep\":0}\n{\"key\":\"a\",\"rep\":1"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), LogFile)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		l, err := OpenLog(path)
		if err != nil {
			return
		}
		n := l.Len()
		require.NoError(t, l.Close())
		l2, err := OpenLog(path)
		require.NoError(t, err, "a log that opened once must open again")
		defer l2.Close()
		assert.Equal(t, n, l2.Len())
		assert.NoError(t, l2.Warning)
	})
}
