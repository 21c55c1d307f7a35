package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bug "go.bug.st/serial"

	"github.com/hilchaos/hilchaos/targets"
)

// Error is a serial port failure: go.bug.st/serial's PortError (which has
// no Unwrap) converted once, here, into an error that errors.Is can see
// through. A port that vanished or cannot be opened matches
// targets.ErrUnreachable; a missing port also fs.ErrNotExist, a forbidden
// one fs.ErrPermission, a device that is not a serial port ErrNotSerial.
// One that waiting cannot cure also matches targets.ErrPermanent.
type Error struct {
	Port string
	Op   string // "open", "read", "write", "reset"
	Err  error  // the cause, as the library or the kernel gave it
	Hint string // what to do about it, or ""
	kind error  // targets.ErrUnreachable, fs.ErrNotExist, ... or nil
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("serial %s %s: %v", e.Op, e.Port, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap exposes the cause and the kind.
func (e *Error) Unwrap() []error {
	if e.kind == nil {
		return []error{e.Err}
	}
	return []error{e.kind, e.Err}
}

// ErrBusy is a port another program holds exclusively.
var ErrBusy = errors.New("port busy")

// ErrNotSerial is a device that is not a serial port (no terminal
// settings): /dev/null, a regular file.
var ErrNotSerial = errors.New("not a serial port")

// seen holds the ports this process has opened once. A port that was there
// and is missing, forbidden or not a tty now is re-enumerating or being
// re-created (a USB board that resets, udev still setting its mode, a PTY
// server restarting): worth waiting for. One that was never there is a
// typo or an unplugged board: waiting cannot help.
var seen sync.Map

const portsHint = "`hilchaos ports` lists the serial ports present"

// convert maps a library or kernel error for port name to an *Error.
func convert(name, op string, err error) error {
	e := &Error{Port: name, Op: op, Err: err, kind: targets.ErrUnreachable}
	var pe *bug.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case bug.PortNotFound:
			e.kind = errors.Join(targets.ErrUnreachable, fs.ErrNotExist)
		case bug.PermissionDenied:
			e.kind = errors.Join(targets.ErrUnreachable, fs.ErrPermission)
		case bug.PortBusy:
			e.kind = errors.Join(targets.ErrUnreachable, ErrBusy)
		case bug.InvalidSerialPort:
			if op == "open" {
				// The library's text is "Invalid serial port: <cause>".
				cause := strings.TrimPrefix(pe.Error(), pe.EncodedErrorString()+": ")
				e.Err = fmt.Errorf("%w (%s)", ErrNotSerial, cause)
				e.kind = errors.Join(targets.ErrUnreachable, ErrNotSerial)
			}
		case bug.InvalidSpeed, bug.InvalidDataBits, bug.InvalidParity, bug.InvalidStopBits, bug.InvalidTimeoutValue:
			e.kind = nil // a setting the port refuses: not a vanished port
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.kind = errors.Join(targets.ErrUnreachable, fs.ErrNotExist)
	case errors.Is(err, fs.ErrPermission):
		e.kind = errors.Join(targets.ErrUnreachable, fs.ErrPermission)
	}
	if _, ok := seen.Load(name); op == "open" && !ok {
		switch {
		case errors.Is(e.kind, fs.ErrNotExist):
			e.Hint = portsHint
			e.kind = errors.Join(e.kind, targets.ErrPermanent)
		case errors.Is(e.kind, ErrNotSerial):
			e.Hint = portsHint
			e.kind = errors.Join(e.kind, targets.ErrPermanent)
		case errors.Is(e.kind, fs.ErrPermission):
			e.Hint = "your user may not open it: add it to the group that owns the device (often dialout) and log in again"
			e.kind = errors.Join(e.kind, targets.ErrPermanent)
		}
	}
	return e
}

// maxSlice bounds one blocking read on the port, so that a deadline set
// while a Read waits is honoured within that time.
const maxSlice = 250 * time.Millisecond

// port adapts a go.bug.st/serial port to net.Conn's read semantics: the
// library returns (0, nil) when its read timeout passes and a PortError
// when the port is closed; here a Read blocks until data, the deadline
// (an error wrapping os.ErrDeadlineExceeded), Close (os.ErrClosed), or the
// port going away (an *Error matching targets.ErrUnreachable).
//
// The library configures the line, writes, and drives the modem lines. Its
// read path costs a select(2) and a read(2) per chunk, which on a fast link
// caps ingest well below what the port delivers; so reads go through a
// second descriptor instead, on Go's poller: one read(2) per chunk and
// deadlines that need no polling slices. Both descriptors share the one tty
// and its line settings.
//
// The library puts the tty in exclusive mode (TIOCEXCL) as it opens it, and
// from then on the kernel lets only root open it again; so the read
// descriptor is opened first (openReader), before the library's. The port
// stays exclusive against other programs. Where the read descriptor cannot
// be had, reads fall back to the library's path.
type port struct {
	p        bug.Port
	rd       *os.File // second descriptor for reads, or nil
	name     string
	deadline atomic.Pointer[time.Time]
	closed   atomic.Bool
}

// openReader opens dev for reading on Go's poller, or returns nil. It does
// not wait for carrier: the library sets CLOCAL just after.
func openReader(dev string) *os.File {
	f, err := os.OpenFile(dev, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	return f
}

func newPort(p bug.Port, rd *os.File, name string) *port {
	return &port{p: p, rd: rd, name: name}
}

// readFile reads through the poller descriptor.
func (p *port) readFile(b []byte) (int, error) {
	for {
		n, err := p.rd.Read(b)
		switch {
		case n > 0:
			return n, nil
		case err == nil:
			continue
		case p.closed.Load():
			return 0, os.ErrClosed
		case errors.Is(err, os.ErrDeadlineExceeded):
			return 0, errDeadline
		}
		return 0, convert(p.name, "read", err)
	}
}

var errDeadline = fmt.Errorf("serial read: %w", os.ErrDeadlineExceeded)

func (p *port) Read(b []byte) (int, error) {
	if p.rd != nil {
		if p.closed.Load() {
			return 0, os.ErrClosed
		}
		return p.readFile(b)
	}
	for {
		if p.closed.Load() {
			return 0, os.ErrClosed
		}
		slice := maxSlice
		if dl := p.deadline.Load(); dl != nil {
			left := time.Until(*dl)
			if left <= 0 {
				return 0, errDeadline
			}
			slice = min(slice, left)
		}
		if err := p.p.SetReadTimeout(slice); err != nil {
			return 0, convert(p.name, "read", err)
		}
		n, err := p.p.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			if p.closed.Load() {
				return 0, os.ErrClosed
			}
			return 0, convert(p.name, "read", err)
		}
		// (0, nil): the slice passed; check the deadline again.
	}
}

func (p *port) Write(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, os.ErrClosed
	}
	n, err := p.p.Write(b)
	if err != nil {
		return n, convert(p.name, "write", err)
	}
	return n, nil
}

// SetReadDeadline implements link.Conn; a zero t means none.
func (p *port) SetReadDeadline(t time.Time) error {
	if p.rd != nil {
		return p.rd.SetReadDeadline(t)
	}
	if t.IsZero() {
		p.deadline.Store(nil)
	} else {
		p.deadline.Store(&t)
	}
	return nil
}

func (p *port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	if p.rd != nil {
		p.rd.Close() // wakes a Read blocked on the poller
	}
	return p.p.Close()
}
