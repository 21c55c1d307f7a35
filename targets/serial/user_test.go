package serial_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/targettest"
)

// nobody is the unprivileged uid and gid the suite is run as when the
// tests run as root.
const nobody = "65534"

// TestAsOrdinaryUser: the fast read path and the whole conformance suite
// work for a user without privileges. The kernel lets root open a tty that
// go.bug.st/serial made exclusive (TIOCEXCL), so as root this test proves
// nothing by itself: it re-executes this test binary as uid 65534 with
// setpriv (util-linux), which must be installed.
func TestAsOrdinaryUser(t *testing.T) {
	if os.Geteuid() != 0 {
		b := targettest.StartPTYBoard(t, boardserver.Config{})
		tg := openPTY(t, b.Path(), 0)
		defer tg.Close()
		assert.True(t, serial.FastPath(tg), "uid %d reads through the poller descriptor", os.Geteuid())
		tg.SetReadDeadline(time.Now().Add(targettest.Patience))
		buf := make([]byte, 256)
		n, err := tg.Read(buf)
		require.NoError(t, err)
		assert.Contains(t, string(buf[:n]), "$", "the board's output arrives")
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	require.NoError(t, err, "setpriv is not installed: it is in util-linux (Debian base); run .ci/setup")

	// The child must be able to read and run the binary: copy it into a
	// directory it may enter.
	dir, err := os.MkdirTemp("", "serial-user")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "serial.test")
	copyFile(t, os.Args[0], bin)

	cmd := exec.Command(setpriv, "--reuid="+nobody, "--regid="+nobody, "--clear-groups", bin,
		"-test.run", "^(TestAsOrdinaryUser|TestConformance)$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "TMPDIR=/tmp")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "as uid %s:\n%s", nobody, out)
	for _, name := range []string{"TestAsOrdinaryUser", "TestConformance"} {
		assert.Contains(t, string(out), "--- PASS: "+name+" ", "as uid %s", nobody)
	}
	assert.False(t, strings.Contains(string(out), "--- SKIP"), "nothing skipped as uid %s:\n%s", nobody, out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
