// Package serial is the target for a board on a serial port, through
// go.bug.st/serial. It is the only package that sees that library: its
// (0, nil) read timeout and its PortError are adapted here into net.Conn's
// deadline semantics and errors that errors.Is understands.
//
// URLs:
//
//	serial:///dev/ttyACM0?baud=115200&parity=none&stop=1&data=8&reset=dtr
//	serial://usb/2341:0043              a board found by USB VID:PID
//	serial://usb/2341:0043/95735353     ... and serial number
//
// A port found by USB identity is looked up again after every break, so a
// board that re-enumerates as another ttyACM after a reset is found again;
// a path (a symlink such as /dev/serial/by-id/... or the --link of
// `hilchaos firmware serve`) is opened again.
package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bug "go.bug.st/serial"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/internal/link"
)

func init() { targets.Register("serial", open) }

// DefaultBaud is the line speed when the URL names none.
const DefaultBaud = 115200

// ResetPulse is how long ResetBoard holds the reset line asserted.
const ResetPulse = 100 * time.Millisecond

// Spec is a parsed serial URL.
type Spec struct {
	Path  string // a device path, or "" for a USB identity
	USB   *USBID // the board's USB identity, or nil for a path
	Mode  bug.Mode
	Reset string // "", "dtr" or "rts"
}

// USBID names a board by its USB descriptor.
type USBID struct {
	VID, PID, Serial string // hex VID and PID as the kernel shows them; Serial optional
}

func (id USBID) String() string {
	s := id.VID + ":" + id.PID
	if id.Serial != "" {
		s += "/" + id.Serial
	}
	return s
}

var known = []string{"baud", "parity", "stop", "data", "reset"}

// ParseURL checks a serial URL.
func ParseURL(u *url.URL) (Spec, error) {
	s := Spec{Mode: bug.Mode{BaudRate: DefaultBaud, DataBits: 8, Parity: bug.NoParity, StopBits: bug.OneStopBit}}
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, &targets.URLError{URL: u.String(), Reason: fmt.Sprintf(format, a...)}
	}
	switch u.Host {
	case "":
		if u.Path == "" {
			return bad("names no port: use serial:///dev/ttyACM0 or serial://usb/VID:PID[/SERIAL]")
		}
		s.Path = u.Path
	case "usb":
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		vid, pid, ok := strings.Cut(parts[0], ":")
		if len(parts) > 2 || !ok || !isHex4(vid) || !isHex4(pid) {
			return bad("want serial://usb/VID:PID[/SERIAL] with 4-digit hex VID and PID, e.g. serial://usb/2341:0043")
		}
		id := &USBID{VID: strings.ToLower(vid), PID: strings.ToLower(pid)}
		if len(parts) == 2 {
			id.Serial = parts[1]
		}
		s.USB = id
	default:
		return bad("host %q: a serial URL has no host except \"usb\" (serial:///dev/ttyUSB0 has three slashes)", u.Host)
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(known, k) {
			return bad("unknown parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
	if v := q.Get("baud"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return bad("baud %q: want a positive integer", v)
		}
		s.Mode.BaudRate = n
	}
	if v := q.Get("data"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 8 {
			return bad("data %q: want 5, 6, 7 or 8", v)
		}
		s.Mode.DataBits = n
	}
	switch v := q.Get("parity"); v {
	case "", "none", "n":
	case "odd", "o":
		s.Mode.Parity = bug.OddParity
	case "even", "e":
		s.Mode.Parity = bug.EvenParity
	case "mark", "m":
		s.Mode.Parity = bug.MarkParity
	case "space", "s":
		s.Mode.Parity = bug.SpaceParity
	default:
		return bad("parity %q: want none, odd, even, mark or space", v)
	}
	switch v := q.Get("stop"); v {
	case "", "1":
	case "2":
		s.Mode.StopBits = bug.TwoStopBits
	default:
		return bad("stop %q: want 1 or 2", v)
	}
	switch v := q.Get("reset"); v {
	case "", "dtr", "rts":
		s.Reset = v
	default:
		return bad("reset %q: want dtr or rts", v)
	}
	return s, nil
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	_, err := strconv.ParseUint(s, 16, 16)
	return err == nil
}

// Target is a board on a serial port. It reconnects by itself (see
// targets.Options.Reconnect) and reports the gaps.
type Target struct {
	*link.Link
	name string
	spec Spec

	mu    sync.Mutex
	ident targets.Identity
	dev   string // the device opened last
}

var (
	_ targets.Target      = (*Target)(nil)
	_ targets.Identifier  = (*Target)(nil)
	_ targets.GapReporter = (*Target)(nil)
	_ targets.Resetter    = ResetTarget{}
)

// ResetTarget is a Target whose URL names a reset line (reset=dtr or
// reset=rts): it implements targets.Resetter. Open returns one only then,
// so the harness falls back to the RS command on a port without a line.
type ResetTarget struct{ *Target }

// ResetBoard implements targets.Resetter by pulsing the reset line.
func (t ResetTarget) ResetBoard() error { return t.Pulse() }

func open(u *url.URL, opt targets.Options) (targets.Target, error) {
	s, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	t, err := Open(u.String(), s, opt.Reconnect)
	if err != nil {
		return nil, err
	}
	if s.Reset != "" {
		return ResetTarget{t}, nil
	}
	return t, nil
}

// Open opens the port s names; when it is not there yet it is waited for
// up to reconnect.
func Open(name string, s Spec, reconnect time.Duration) (*Target, error) {
	t := &Target{name: name, spec: s}
	l, err := link.DialNew(name, t.dial, reconnect)
	if err != nil {
		if !errors.Is(err, targets.ErrUnreachable) {
			// The port is there but refuses the line settings, or the
			// USB identity is ambiguous: the URL needs fixing.
			return nil, &targets.URLError{URL: name, Reason: err.Error()}
		}
		return nil, err
	}
	t.Link = l
	return t, nil
}

// dial resolves the port and opens it with the URL's line settings.
func (t *Target) dial() (link.Conn, error) {
	dev := t.spec.Path
	ident := targets.Identity{}
	if t.spec.USB != nil {
		d, err := FindUSB(*t.spec.USB)
		if err != nil {
			var e *Error
			if _, ok := seen.Load("usb/" + t.spec.USB.String()); !ok && errors.As(err, &e) && errors.Is(err, fs.ErrNotExist) {
				e.Hint = portsHint
				e.kind = errors.Join(e.kind, targets.ErrPermanent)
			}
			return nil, err
		}
		dev = d.Name
		ident = targets.Identity{VID: d.VID, PID: d.PID, Serial: d.SerialNumber, Product: d.Product}
	} else if d, ok := lookupDetails(dev); ok && d.IsUSB {
		ident = targets.Identity{VID: d.VID, PID: d.PID, Serial: d.SerialNumber, Product: d.Product}
	}
	mode := t.spec.Mode
	rd := openReader(dev) // before the library makes the tty exclusive
	p, err := bug.Open(dev, &mode)
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return nil, convert(dev, "open", err)
	}
	seen.Store(dev, true)
	if t.spec.USB != nil {
		seen.Store("usb/"+t.spec.USB.String(), true)
	}
	t.mu.Lock()
	t.ident, t.dev = ident, dev
	t.mu.Unlock()
	return newPort(p, rd, dev), nil
}

// Name implements targets.Target.
func (t *Target) Name() string { return t.name }

// Device is the device path opened last (a USB identity resolved).
func (t *Target) Device() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dev
}

// Identity implements targets.Identifier: the USB descriptor of the port,
// empty for a port that is not on USB (a PTY, a built-in UART).
func (t *Target) Identity() targets.Identity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ident
}

// Pulse pulses the line the URL's reset parameter names: asserted for
// ResetPulse, then released. Without that parameter it fails.
func (t *Target) Pulse() error {
	if t.spec.Reset == "" {
		return &Error{Port: t.name, Op: "reset", Err: errors.New("no reset line: add reset=dtr or reset=rts to the URL")}
	}
	c := t.Conn()
	if c == nil {
		return &Error{Port: t.name, Op: "reset", Err: errors.New("port is down"), kind: targets.ErrUnreachable}
	}
	p := c.(*port)
	set := p.p.SetDTR
	if t.spec.Reset == "rts" {
		set = p.p.SetRTS
	}
	if err := set(true); err != nil {
		return convert(p.name, "reset", err)
	}
	time.Sleep(ResetPulse)
	if err := set(false); err != nil {
		return convert(p.name, "reset", err)
	}
	return nil
}
