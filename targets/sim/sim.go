// Package sim is the in-process target: the reference firmware model on a
// virtual clock. Bytes pass through the wire codec exactly as from a board,
// and the whole run is stepped by the goroutine that reads, so a run is
// bit-for-bit reproducible from its seed and as fast as the CPU allows.
//
// URLs:
//
//	sim://pathfinder?mutex=none|inherit|ceiling&baud=921600
//	sim:///path/to/taskset.yaml?mutex=inherit
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// DefaultBaud is the simulated UART speed when the URL names none: fast
// enough for the full trace level of the Pathfinder profile.
const DefaultBaud = 921600

// Epoch is what virtual time zero looks like as a time.Time.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func init() { targets.Register("sim", open) }

// ErrIdle is returned by Read when the board has nothing more to say, will
// not say anything until it is sent a command, and no read deadline is set:
// on real hardware that read would block forever.
var ErrIdle = errors.New("sim: board idle and no read deadline set")

// Target is a simulated board.
type Target struct {
	name     string
	board    *firmware.Board
	profile  *firmware.Profile
	deadline int64 // virtual ns; -1 for none
	closed   bool
}

// Spec is a parsed sim URL.
type Spec struct {
	Profile *firmware.Profile
	Config  firmware.Config
	// Bytes (wire=bytes) makes the target hand over only bytes, which
	// the host decodes and CRC-checks as it would a real link's: slower,
	// for checking the wire path. By default (wire=frames) the host takes
	// the frames as the model made them (wire.FrameSource).
	Bytes bool
}

// ParseURL resolves a sim URL into a profile and board configuration.
func ParseURL(u *url.URL) (Spec, error) {
	var s Spec
	bad := func(format string, a ...any) (Spec, error) {
		return s, &targets.URLError{URL: u.String(), Reason: fmt.Sprintf(format, a...)}
	}
	var err error
	switch {
	case u.Host != "":
		s.Profile, err = firmware.Lookup(u.Host)
		if err != nil {
			return bad("profile %q: %v (built in: %v)", u.Host, err, firmware.Profiles())
		}
	case u.Path != "":
		s.Profile, err = firmware.LoadProfile(u.Path)
		if err != nil {
			return bad("%v", err)
		}
	default:
		return bad("names no profile: use sim://pathfinder or sim:///path/to/taskset.yaml")
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "mutex", "baud", "buffer", "wire":
		default:
			return bad("unknown parameter %q (known: mutex, baud, buffer, wire)", k)
		}
	}
	switch w := q.Get("wire"); w {
	case "", "frames":
	case "bytes":
		s.Bytes = true
	default:
		return bad("wire %q: want frames (the default) or bytes", w)
	}
	if m := q.Get("mutex"); m != "" {
		if s.Config.Mutex, err = firmware.ParseProtocol(m); err != nil {
			return bad("mutex: %v", err)
		}
	}
	s.Config.Baud = DefaultBaud
	if b := q.Get("baud"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 {
			return bad("baud %q: want a non-negative integer (0 = unlimited)", b)
		}
		s.Config.Baud = n
	}
	if b := q.Get("buffer"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < wireMinBuffer {
			return bad("buffer %q: want a byte count of at least %d", b, wireMinBuffer)
		}
		s.Config.TxBuffer = n
	}
	return s, nil
}

const wireMinBuffer = 256

func open(u *url.URL, opt targets.Options) (targets.Target, error) {
	s, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	s.Config.Seed = opt.Seed
	s.Config.Trace = opt.Trace
	t, err := New(u.String(), s.Profile, s.Config)
	if err != nil || !s.Bytes {
		return t, err
	}
	return &bytesOnly{t}, nil
}

// bytesOnly is a Target that is not its own IntactSource, so a Reader
// neither takes its frames decoded nor skips a CRC check: its bytes go
// the way a real link's do. Everything else (the clock, power cycles) is
// the Target's.
type bytesOnly struct{ *Target }

// New powers on a simulated board.
func New(name string, p *firmware.Profile, cfg firmware.Config) (*Target, error) {
	b, err := firmware.NewBoard(p, cfg)
	if err != nil {
		return nil, &targets.URLError{URL: name, Reason: err.Error()}
	}
	return &Target{name: name, board: b, profile: p, deadline: -1}, nil
}

// Name implements targets.Target.
func (t *Target) Name() string { return t.name }

// Profile is the task set the board runs.
func (t *Target) Profile() *firmware.Profile { return t.profile }

// Now implements targets.Clock: the board's virtual time.
func (t *Target) Now() time.Time { return Epoch.Add(time.Duration(t.board.Now())) }

// VirtualNS is the board's virtual time in ns: Now() is Epoch plus it.
func (t *Target) VirtualNS() int64 { return t.board.Now() }

// SetReadDeadline implements targets.Target, in virtual time.
func (t *Target) SetReadDeadline(d time.Time) error {
	if d.IsZero() {
		t.deadline = -1
	} else {
		// A deadline before power-on is in the past, not "none".
		t.deadline = max(int64(d.Sub(Epoch)), 0)
	}
	return nil
}

// IntactSource returns t: the bytes t's Read returns are the model's
// encoder output as is (its UART drops whole frames, never bytes inside
// one), so a wire.Reader reading t itself need not verify frames' CRCs
// (wire.Intact). A wrapper embedding t is not t, and is not trusted.
func (t *Target) IntactSource() io.Reader { return t }

// readAhead is how many bytes Read collects before it returns: enough to
// amortise the call, little enough that the host's answers (fault uploads
// during the run) reach the board in good time.
const readAhead = 4096

// Read runs the board until it has sent bytes, then keeps running it until
// readAhead bytes are ready, to hand over larger chunks. It returns an error wrapping
// os.ErrDeadlineExceeded when the deadline passes in virtual time first.
func (t *Target) Read(p []byte) (int, error) {
	if t.closed {
		return 0, os.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := t.wait(len(p)); err != nil {
		return 0, err
	}
	return t.board.Read(p), nil
}

var _ wire.FrameSource = (*Target)(nil)

// ReadFrames implements wire.FrameSource: Read as a buffer of max bytes
// would, the board run exactly as long, but the frames handed over whole
// and the EV frames as their events, never encoded.
func (t *Target) ReadFrames(fs *wire.Frames, max int) (int, error) {
	if t.closed {
		return 0, os.ErrClosed
	}
	if max <= 0 {
		return 0, nil
	}
	if err := t.wait(max); err != nil {
		return 0, err
	}
	return t.board.ReadFrames(fs, max), nil
}

// wait runs the board until a read of size bytes has enough to return:
// half of size or readAhead bytes, at least one; or, short of that, the
// bytes ready when the deadline comes (ErrIdle or an error wrapping
// os.ErrDeadlineExceeded when there are none).
func (t *Target) wait(size int) error {
	enough := max(min(size/2, readAhead), 1)
	for {
		// The bytes stay in the board's buffer until the read returns:
		// copying them frame by frame as they become readable would
		// cost more than making them.
		if t.board.Readable() >= enough {
			return nil
		}
		next, ok := t.board.NextEvent()
		if !ok || (t.deadline >= 0 && next > t.deadline) {
			if t.board.Readable() > 0 {
				return nil
			}
			if t.deadline < 0 {
				return ErrIdle
			}
			if t.deadline > t.board.Now() {
				t.board.AdvanceTo(t.deadline)
			}
			return os.ErrDeadlineExceeded
		}
		t.board.AdvanceTo(next)
	}
}

// Write hands host bytes to the board at the current virtual time.
func (t *Target) Write(p []byte) (int, error) {
	if t.closed {
		return 0, os.ErrClosed
	}
	t.board.Receive(p)
	return len(p), nil
}

// Close implements targets.Target.
func (t *Target) Close() error {
	if !t.closed {
		t.board.Release()
	}
	t.closed = true
	return nil
}

func init() { targets.RegisterPowerCycler("sim") }

var (
	_ targets.PowerCycler = (*Target)(nil)
	_ targets.BoardClock  = (*Target)(nil)
)

// PowerCycle implements targets.PowerCycler: the model is switched off at
// the current virtual time and on again off later (firmware.Board's
// PowerCycle). Together with a read deadline at the planned board time,
// the cycle falls on the exact virtual nanosecond, so a run with power
// cycles is as reproducible as one without.
func (t *Target) PowerCycle(_ context.Context, off time.Duration) (targets.PowerReport, error) {
	if t.closed {
		return targets.PowerReport{}, os.ErrClosed
	}
	t.board.PowerCycle(off)
	return targets.PowerReport{How: "sim"}, nil
}

// Uptime implements targets.BoardClock: the virtual time since the board
// last booted (negative while a power cycle keeps it off).
func (t *Target) Uptime() time.Duration {
	return time.Duration(t.board.Now() - t.board.BootedAt())
}
