package serial_test

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bug "go.bug.st/serial"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/targettest"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]serial.Spec{
		"serial:///dev/ttyACM0": {Path: "/dev/ttyACM0", Mode: bug.Mode{BaudRate: 115200, DataBits: 8}},
		"serial:///dev/ttyUSB1?baud=921600&parity=even&stop=2&data=7&reset=dtr": {Path: "/dev/ttyUSB1",
			Mode: bug.Mode{BaudRate: 921600, DataBits: 7, Parity: bug.EvenParity, StopBits: bug.TwoStopBits}, Reset: "dtr"},
		"serial://usb/2341:0043":          {USB: &serial.USBID{VID: "2341", PID: "0043"}, Mode: bug.Mode{BaudRate: 115200, DataBits: 8}},
		"serial://usb/0403:6001/A50285BI": {USB: &serial.USBID{VID: "0403", PID: "6001", Serial: "A50285BI"}, Mode: bug.Mode{BaudRate: 115200, DataBits: 8}},
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		got, err := serial.ParseURL(u)
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{
		"serial://", "serial://host/dev/ttyS0", "serial:///dev/ttyS0?baud=fast", "serial:///dev/ttyS0?parity=maybe",
		"serial:///dev/ttyS0?stop=1.5", "serial:///dev/ttyS0?data=9", "serial:///dev/ttyS0?reset=dsr",
		"serial:///dev/ttyS0?speed=9600", "serial://usb/2341", "serial://usb/23411:0043", "serial://usb/zzzz:0043",
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		_, err = serial.ParseURL(u)
		var ue *targets.URLError
		assert.ErrorAs(t, err, &ue, raw)
	}
}

// A port that is not there, and never was while this process ran, is
// unreachable (exit 3), reported as not existing, and not waited for.
func TestMissingPortIsUnreachable(t *testing.T) {
	_, err := targets.Open("serial://"+filepath.Join(t.TempDir(), "nothing"), targets.Options{Reconnect: time.Hour})
	require.Error(t, err)
	assert.ErrorIs(t, err, targets.ErrUnreachable)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, err, targets.ErrPermanent, "a port never seen is not waited for")
	assert.Contains(t, err.Error(), "hilchaos ports")
}

// A device that is not a serial port fails at once: no terminal settings
// will ever appear on /dev/null.
func TestNotATTYFailsAtOnce(t *testing.T) {
	_, err := targets.Open("serial:///dev/null", targets.Options{Reconnect: time.Hour})
	require.Error(t, err)
	assert.ErrorIs(t, err, targets.ErrUnreachable, "an infrastructure error, exit 3")
	assert.ErrorIs(t, err, targets.ErrPermanent)
	assert.ErrorIs(t, err, serial.ErrNotSerial)
	assert.Contains(t, err.Error(), "/dev/null")
	assert.Contains(t, err.Error(), "not a serial port")
	assert.NotContains(t, err.Error(), "serial:///dev/null", "the caller names the target")
}

// A port that was open once and is missing now is re-enumerating or being
// re-created: it is waited for, up to the window.
func TestSeenPortIsWaitedFor(t *testing.T) {
	link := filepath.Join(t.TempDir(), "board")
	a := targettest.StartPTYBoard(t, boardserver.Config{})
	require.NoError(t, boardserver.Relink(a.PTY.Path, link))
	openPTY(t, link, 0).Close()
	require.NoError(t, os.Remove(link))
	go func() {
		time.Sleep(100 * time.Millisecond)   // sequencing only: the link reappears while Open waits
		boardserver.Relink(a.PTY.Path, link) //nolint:errcheck // seen through Open
	}()
	tg := openPTY(t, link, targettest.Patience)
	tg.Close()
}

// TestReconnectAfterRestart: the board's server goes away and a new one
// appears at the same symlink; the target reopens it, keeps reading, and
// reports the gap.
func TestReconnectAfterRestart(t *testing.T) {
	link := filepath.Join(t.TempDir(), "board")
	a := targettest.StartPTYBoard(t, boardserver.Config{})
	require.NoError(t, boardserver.Relink(a.PTY.Path, link))
	tg := openPTY(t, link, 10*time.Second)
	defer tg.Close()
	buf := make([]byte, 4096)
	tg.SetReadDeadline(time.Now().Add(targettest.Patience))
	_, err := tg.Read(buf) // the first banner
	require.NoError(t, err)

	a.Stop()
	b := targettest.StartPTYBoard(t, boardserver.Config{})
	require.NoError(t, boardserver.Relink(b.PTY.Path, link))
	for {
		n, err := tg.Read(buf)
		require.NoError(t, err, "reading across the restart")
		if n > 0 && len(tg.Gaps()) > 0 {
			break
		}
	}
	gaps := tg.Gaps()
	require.Len(t, gaps, 1)
	assert.False(t, gaps[0].End.Before(gaps[0].Start))
	assert.NotEmpty(t, gaps[0].Cause)
	assert.Equal(t, link, tg.Device(), "the path is opened again, not where it pointed")
}

// With no reconnect window a lost port fails at once, as unreachable.
func TestNoWindowFailsAtOnce(t *testing.T) {
	a := targettest.StartPTYBoard(t, boardserver.Config{})
	tg := openPTY(t, a.PTY.Path, 0)
	defer tg.Close()
	a.Stop()
	buf := make([]byte, 4096)
	tg.SetReadDeadline(time.Now().Add(targettest.Patience))
	var err error
	for err == nil {
		_, err = tg.Read(buf)
	}
	assert.ErrorIs(t, err, targets.ErrUnreachable)
	assert.Contains(t, err.Error(), a.PTY.Path, "the message names the port")
}
