// Package qemu is the qemu:// target: a firmware ELF run in
// qemu-system-arm's mps2-an385 machine (Cortex-M3), driven through its
// UART0 on a pseudo-terminal like any board, with QEMU's own QMP events
// (RESET, and the watchdog pausing the machine) kept as an independent
// witness of every reset.
//
//	qemu://mps2-an385?fw=PATH.elf[&icount=N]
//
// QEMU starts paused (-S); the target reads the PTY path QEMU prints, opens
// it through the serial target (go.bug.st/serial), and only then resumes the
// machine over QMP, so the boot banner is never lost. With icount=N the
// machine runs `-icount shift=N,sleep=off`: one instruction is 2^N ns of
// board time, runs are repeatable and may run faster than real time.
// QEMU is killed when the target is closed, and with the parent-death
// signal if the harness itself is killed.
package qemu

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/elfsym"
	"github.com/hilchaos/hilchaos/targets/serial"
)

func init() { targets.Register("qemu", open) }

// Binary is the QEMU executable.
var Binary = "qemu-system-arm"

// Machine is the only board model supported.
const Machine = "mps2-an385"

// StartTimeout bounds QEMU's start: the PTY line and the QMP socket.
const StartTimeout = 15 * time.Second

// Spec is a parsed qemu URL.
type Spec struct {
	Firmware string // the ELF
	Icount   int    // -icount shift; -1 when not given (QEMU on the wall clock)
}

// ParseURL checks a qemu URL.
func ParseURL(u *url.URL) (Spec, error) {
	s := Spec{Icount: -1}
	bad := func(f string, a ...any) (Spec, error) {
		return Spec{}, &targets.URLError{URL: u.String(), Reason: fmt.Sprintf(f, a...)}
	}
	if u.Host != Machine {
		return bad("machine %q: only %q is supported", u.Host, Machine)
	}
	q := u.Query()
	for k := range q {
		if k != "fw" && k != "icount" {
			return bad("unknown parameter %q (known: fw, icount)", k)
		}
	}
	s.Firmware = q.Get("fw")
	if s.Firmware == "" {
		return bad("fw=PATH.elf is required")
	}
	if v := q.Get("icount"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10 {
			return bad("icount %q: want a shift from 0 to 10", v)
		}
		s.Icount = n
	}
	return s, nil
}

// Target is a running QEMU with the firmware, seen through its UART.
type Target struct {
	*serial.Target
	name string
	spec Spec
	cmd  *exec.Cmd
	dir  string
	qmp  net.Conn
	pid  int

	mu      sync.Mutex
	witness []targets.WitnessedReset
	inject  []byte
	buf     []byte    // read from the PTY by drain, not yet by Read
	rerr    error     // why drain stopped
	dl      time.Time // the read deadline
	lastNL  bool
	notify  chan struct{} // data, an error, or a new deadline
	qmpW    *json.Encoder

	symOnce sync.Once
	sym     *elfsym.Table
	symErr  error

	closeOnce sync.Once
	exited    chan struct{}
}

var (
	_ targets.Symbolizer   = (*Target)(nil)
	_ targets.Target       = (*Target)(nil)
	_ targets.Resetter     = (*Target)(nil)
	_ targets.ResetWitness = (*Target)(nil)
)

var _ targets.Deterministic = (*Target)(nil)

// Deterministic implements targets.Deterministic: with icount QEMU counts
// instructions, so a run depends only on the bytes received and the
// instruction count at which each arrived.
func (t *Target) Deterministic() bool { return t.spec.Icount >= 0 }

func open(u *url.URL, opt targets.Options) (targets.Target, error) {
	s, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	return Start(u.String(), s)
}

var ptyLine = regexp.MustCompile(`char device redirected to (/dev/pts/[0-9]+)`)

// Start runs QEMU paused, opens its UART, and resumes it.
func Start(name string, s Spec) (*Target, error) {
	if _, err := os.Stat(s.Firmware); err != nil {
		return nil, &targets.URLError{URL: name, Reason: fmt.Sprintf("firmware: %v", err)}
	}
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%s: %s not found (install qemu-system-arm): %w", name, Binary, targets.ErrUnreachable)
	}
	dir, err := os.MkdirTemp("", "hilchaos-qemu-")
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", name, err, targets.ErrUnreachable)
	}
	sock := filepath.Join(dir, "qmp.sock")
	args := []string{"-M", Machine, "-nographic", "-monitor", "none", "-serial", "pty",
		"-kernel", s.Firmware, "-S", "-qmp", "unix:" + sock + ",server=on,wait=off",
		// The watchdog's reset pauses the machine instead: QEMU throttles
		// WATCHDOG events to one a second, but a paused machine is
		// counted exactly (STOP, then query-status says "watchdog"), and
		// the target then completes the reset (system_reset, cont).
		"-watchdog-action", "pause"}
	if s.Icount >= 0 {
		args = append(args, "-icount", fmt.Sprintf("shift=%d,sleep=off", s.Icount))
	}
	cmd := exec.Command(bin, args...)
	// Its own process group: a Ctrl-C on the terminal reaches the harness,
	// which stops the run and then QEMU. Pdeathsig: QEMU dies with the
	// harness even when the harness is SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: start %s: %v: %w", name, bin, err, targets.ErrUnreachable)
	}
	t := &Target{name: name, spec: s, cmd: cmd, dir: dir, pid: cmd.Process.Pid, exited: make(chan struct{}), lastNL: true,
		notify: make(chan struct{}, 1)}
	go func() { cmd.Wait(); close(t.exited) }() //nolint:errcheck // the exit is reported through exited

	fail := func(err error) (*Target, error) {
		t.kill()
		return nil, fmt.Errorf("%s: %v: %w", name, err, targets.ErrUnreachable)
	}
	pty := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if m := ptyLine.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				pty <- m[1]
			}
		}
	}()
	var path string
	select {
	case path = <-pty:
	case <-t.exited:
		return fail(errors.New("qemu exited before it opened its PTY"))
	case <-time.After(StartTimeout):
		return fail(errors.New("qemu printed no PTY path"))
	}
	if err := t.dialQMP(sock); err != nil {
		return fail(err)
	}
	u, _ := url.Parse("serial://" + path + "?baud=115200")
	spec, err := serial.ParseURL(u)
	if err != nil {
		return fail(err)
	}
	st, err := serial.Open(name, spec, 0)
	if err != nil {
		return fail(err)
	}
	t.Target = st
	go t.drain()
	if err := t.execute("cont"); err != nil {
		st.Close()
		return fail(err)
	}
	return t, nil
}

// dialQMP connects to QEMU's QMP socket and enters command mode.
func (t *Target) dialQMP(sock string) error {
	deadline := time.Now().Add(StartTimeout)
	var c net.Conn
	for {
		var err error
		c, err = net.Dial("unix", sock)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qmp %s: %v", sock, err)
		}
		select {
		case <-t.exited:
			return errors.New("qemu exited before its QMP socket opened")
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.qmp = c
	dec := json.NewDecoder(c)
	var greeting map[string]json.RawMessage
	if err := dec.Decode(&greeting); err != nil {
		return fmt.Errorf("qmp greeting: %v", err)
	}
	t.qmpW = json.NewEncoder(c)
	if err := t.qmpW.Encode(map[string]string{"execute": "qmp_capabilities"}); err != nil {
		return fmt.Errorf("qmp: %v", err)
	}
	var reply map[string]json.RawMessage
	if err := dec.Decode(&reply); err != nil {
		return fmt.Errorf("qmp capabilities: %v", err)
	}
	if _, ok := reply["return"]; !ok {
		return fmt.Errorf("qmp capabilities refused: %s", reply["error"])
	}
	go t.events(dec)
	return nil
}

type qmpMsg struct {
	Event string `json:"event"`
	Data  struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	} `json:"data"`
	ID     string `json:"id"`
	Return struct {
		Status string `json:"status"`
	} `json:"return"`
}

// events records QMP's RESET events and the watchdog's pauses until the
// socket closes. A STOP is followed by a query-status; its answer
// "watchdog" means the CMSDK watchdog's second expiry: that is a watchdog
// reset, which the target completes.
func (t *Target) events(dec *json.Decoder) {
	for {
		var m qmpMsg
		if err := dec.Decode(&m); err != nil {
			return
		}
		var w targets.WitnessedReset
		switch {
		case m.Event == "STOP":
			t.executeID("query-status", "stop")
			continue
		case m.ID == "stop" && m.Return.Status == "watchdog":
			w = targets.WitnessedReset{At: time.Now(), Kind: "watchdog", Detail: "watchdog expired twice"}
			t.execute("system_reset") //nolint:errcheck // a closed socket ends the loop
			t.execute("cont")         //nolint:errcheck
		case m.Event == "RESET":
			w = targets.WitnessedReset{At: time.Now(), Kind: "reset", Detail: m.Data.Reason}
		default:
			continue
		}
		t.mu.Lock()
		t.witness = append(t.witness, w)
		t.mu.Unlock()
	}
}

func (t *Target) executeID(cmd, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.qmpW.Encode(map[string]string{"execute": cmd, "id": id}) //nolint:errcheck // a closed socket ends events
}

// execute sends one QMP command; its reply is read (and dropped) by events.
func (t *Target) execute(cmd string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.qmpW.Encode(map[string]string{"execute": cmd}); err != nil {
		return fmt.Errorf("qmp %s: %v", cmd, err)
	}
	return nil
}

// WitnessedResets implements targets.ResetWitness: the watchdog's resets
// and QEMU's RESET events so far, in order. A watchdog reset gives a
// "watchdog" then a "reset"; a software reset (AIRCR) a "reset" alone.
func (t *Target) WitnessedResets() []targets.WitnessedReset {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]targets.WitnessedReset(nil), t.witness...)
}

// ResetBoard implements targets.Resetter: QMP system_reset, the reset
// button.
func (t *Target) ResetBoard() error { return t.execute("system_reset") }

// Symbolize implements targets.Symbolizer with the firmware ELF's symbol
// and DWARF line tables (read on first use).
func (t *Target) Symbolize(addr uint64) (function, file string, line int, ok bool) {
	t.symOnce.Do(func() { t.sym, t.symErr = elfsym.Open(t.spec.Firmware) })
	if t.symErr != nil {
		return "", "", 0, false
	}
	loc, ok := t.sym.Lookup(addr)
	return loc.Function, loc.File, loc.Line, ok
}

// Name implements targets.Target.
func (t *Target) Name() string { return t.name }

// PID is QEMU's process id.
func (t *Target) PID() int { return t.pid }

// Inject puts p on the board-to-host line at the next frame boundary, as
// line noise would (the conformance suite's rig).
func (t *Target) Inject(p []byte) {
	t.mu.Lock()
	t.inject = append(t.inject, p...)
	t.mu.Unlock()
}

// drain reads the PTY as fast as QEMU writes it, into an unbounded
// buffer: QEMU writes a byte per write(2), and a PTY holds 4 KiB, so a
// harness busy for a few milliseconds would hold the emulated UART full,
// and a firmware whose transmit interrupts come later than in the last
// run does not repeat under icount.
func (t *Target) drain() {
	b := make([]byte, 64<<10)
	for {
		if drainPause > 0 {
			time.Sleep(drainPause) // tests only: a harness that reads late
		}
		n, err := t.Target.Read(b)
		t.mu.Lock()
		t.buf = append(t.buf, b[:n]...)
		if err != nil {
			t.rerr = err
		}
		t.mu.Unlock()
		t.wake()
		if err != nil {
			return
		}
	}
}

// drainPause delays each read of the PTY (tests: a slow harness fills
// the PTY, and the firmware must get its line back by itself).
var drainPause time.Duration

func (t *Target) wake() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// SetReadDeadline implements targets.Target.
func (t *Target) SetReadDeadline(d time.Time) error {
	t.mu.Lock()
	t.dl = d
	t.mu.Unlock()
	t.wake()
	return nil
}

// Read implements io.Reader, with injected noise between two lines.
func (t *Target) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		t.mu.Lock()
		if len(t.inject) > 0 && t.lastNL {
			n := copy(p, t.inject)
			t.inject = t.inject[n:]
			t.mu.Unlock()
			return n, nil
		}
		if len(t.buf) > 0 {
			n := t.cut(p, copy(p, t.buf))
			t.buf = t.buf[n:]
			if len(t.buf) == 0 {
				t.buf = t.buf[:0:0] // let a large buffer go
			}
			t.mu.Unlock()
			return n, nil
		}
		rerr, dl := t.rerr, t.dl
		t.mu.Unlock()
		if rerr != nil {
			return 0, rerr
		}
		if dl.IsZero() {
			<-t.notify
			continue
		}
		wait := time.Until(dl)
		if wait <= 0 {
			return 0, fmt.Errorf("%s: read: %w", t.name, os.ErrDeadlineExceeded)
		}
		tm := time.NewTimer(wait)
		select {
		case <-t.notify:
		case <-tm.C:
		}
		tm.Stop()
	}
}

// cut returns how many of the n bytes in p to deliver: all of them, or up
// to the first line end while noise waits to be injected.
func (t *Target) cut(p []byte, n int) int {
	if len(t.inject) > 0 {
		for i, b := range p[:n] {
			if b == '\n' {
				n = i + 1
				break
			}
		}
	}
	t.lastNL = p[n-1] == '\n'
	return n
}

// Close implements io.Closer: the UART, then QEMU itself.
func (t *Target) Close() error {
	var err error
	t.closeOnce.Do(func() {
		if t.Target != nil {
			err = t.Target.Close()
		}
		t.kill()
	})
	return err
}

func (t *Target) kill() {
	if t.qmp != nil {
		t.qmp.Close()
	}
	if t.cmd.Process != nil {
		t.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	}
	<-t.exited
	os.RemoveAll(t.dir)
}

var _ io.ReadWriteCloser = (*Target)(nil)
