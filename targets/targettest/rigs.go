package targettest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/boardserver"
)

// PTYBoard is a reference board served in this process on a real
// pseudo-terminal, through the same code as `hilchaos firmware serve --pty`.
type PTYBoard struct {
	Server *boardserver.Server
	PTY    *boardserver.PTY
	stop   context.CancelFunc
	done   chan error
	once   sync.Once
}

// Path is the PTY slave to open as a serial port.
func (b *PTYBoard) Path() string { return b.PTY.Path }

// Stop ends the server and closes the PTY (the board "vanishes").
func (b *PTYBoard) Stop() {
	b.once.Do(func() {
		b.stop()
		<-b.done
		b.PTY.Close()
	})
}

// StartPTYBoard serves a Pathfinder board with cfg (zero: defaults) on a
// new PTY until the test ends.
func StartPTYBoard(t testing.TB, cfg boardserver.Config) *PTYBoard {
	t.Helper()
	if cfg.Profile == nil {
		p, err := firmware.Lookup("pathfinder")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Profile = p
	}
	s, err := boardserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := boardserver.OpenPTY("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &PTYBoard{Server: s, PTY: p, stop: cancel, done: make(chan error, 1)}
	go func() { b.done <- s.ServePTY(ctx, p) }()
	t.Cleanup(b.Stop)
	return b
}

// Ser2netMissing is the failure message when ser2net is not installed.
const Ser2netMissing = "ser2net is not installed: run .ci/setup (it installs the Debian package ser2net)"

// Ser2net starts Debian's ser2net, serving device (a PTY) as a raw TCP
// port on the loopback, and returns its address. It is stopped when the
// test ends. A missing ser2net fails the test: the TCP target is only
// trusted when tested against the real thing.
func Ser2net(t testing.TB, device string) string {
	t.Helper()
	bin, err := exec.LookPath("ser2net")
	if err != nil {
		for _, p := range []string{"/usr/sbin/ser2net", "/sbin/ser2net"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Fatal(Ser2netMissing)
	}
	port := freePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ser2net.yaml")
	// ser2net 4.x YAML; "local" ignores modem control lines (a PTY has
	// none), no banner, and a second client kicks the first out, as a
	// harness reconnecting after a dropped connection needs.
	conf := fmt.Sprintf(`%%YAML 1.1
---
connection: &hil
    accepter: tcp,127.0.0.1,%d
    enable: on
    options:
      kickolduser: true
    connector: serialdev,%s,115200n81,local
`, port, device)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "ser2net.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-d", "-u", "-c", cfg, "-P", filepath.Join(dir, "ser2net.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ser2net: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // reported through exited
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // last resort
			<-exited
		}
		logf.Close()
	})
	// Wait until it listens, without connecting: a connection would make
	// it open the PTY and swallow the boot banner.
	deadline := time.Now().Add(Patience)
	for !listening(port) {
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("ser2net exited at start:\n%s", log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("ser2net not listening on port %d:\n%s", port, log)
		}
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// listening reports whether a TCP socket listens on port (from
// /proc/net/tcp, state 0A).
func listening(port int) bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
			return true
		}
	}
	return false
}
