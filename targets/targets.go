// Package targets is how bytes reach a board. Every transport satisfies the
// small Target interface; optional abilities (a clock of its own, a reset
// line, a USB identity) are separate interfaces found by type assertion.
package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is a byte pipe to one board.
type Target interface {
	io.ReadWriteCloser
	// SetReadDeadline makes a blocked or future Read return an error wrapping
	// os.ErrDeadlineExceeded once the target's clock passes t. A zero t means
	// no deadline.
	SetReadDeadline(t time.Time) error
	// Name is the URL the target was opened with, for messages and records.
	Name() string
}

// Clock is a source of time. A target that owns time (the simulator, whose
// virtual clock only advances while it is read) implements it; every other
// target runs on the wall clock.
type Clock interface {
	Now() time.Time
}

// Resetter is a target that can reset the board by itself (a DTR/RTS pulse,
// a process restart), without the board's cooperation.
type Resetter interface {
	ResetBoard() error
}

// Identity describes the physical connection, where there is one.
type Identity struct {
	VID, PID, Serial, Product string
}

// Identifier is a target that knows what it is connected to.
type Identifier interface {
	Identity() Identity
}

// Options are the per-run settings a target may honour.
type Options struct {
	// Seed seeds the simulated board's execution times. Real boards ignore it.
	Seed uint64
	// Trace is the trace level the run wants (0 summaries, 1 default, 2 full).
	Trace int
	// Reconnect is how long a target whose link breaks (a port that
	// vanishes while the board re-enumerates, a dropped TCP connection)
	// keeps trying to get it back before failing with ErrUnreachable.
	// Zero means no retries.
	Reconnect time.Duration
}

// Gap is one interruption of a target's link: from the moment the link was
// found broken to the moment it was open again. What the board sent in
// between is lost, and how much is unknown.
type Gap struct {
	Start, End time.Time // wall clock
	Cause      string    // the error that broke the link
}

// GapReporter is a target that reconnects by itself and can tell where its
// link was down.
type GapReporter interface {
	Gaps() []Gap
}

// Opener opens a target from its parsed URL.
type Opener func(u *url.URL, opt Options) (Target, error)

var (
	mu      sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes a URL scheme available to Open. It panics on a duplicate
// scheme: two transports claiming one scheme is a programming error.
func Register(scheme string, o Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("targets: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	var s []string
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// ErrUnreachable marks a target that could not be opened or went away: an
// infrastructure failure, never a firmware failure.
var ErrUnreachable = errors.New("target unreachable")

// ErrPermanent marks an open error that waiting cannot cure: the path is
// not a serial port, the host name does not exist, the device is not there
// (and never was while this process ran), access is denied. A transport
// returns it beside ErrUnreachable, so the error is still an
// infrastructure failure (exit 3), and the reconnect loop gives up at once
// instead of retrying for the whole window.
var ErrPermanent = errors.New("cannot succeed by waiting")

// URLError is a target URL that cannot be used.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string { return fmt.Sprintf("target %q: %s", e.URL, e.Reason) }

// Parse checks a target URL without opening it.
func Parse(raw string) (*url.URL, Opener, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, &URLError{URL: raw, Reason: err.Error() + hint(raw)}
	}
	mu.RLock()
	o, ok := openers[u.Scheme]
	mu.RUnlock()
	if !ok {
		return nil, nil, &URLError{URL: raw, Reason: fmt.Sprintf("unknown scheme %q (known: %v)", u.Scheme, Schemes()) + hint(raw)}
	}
	return u, o, nil
}

// hint suggests the URL a person most likely meant by raw: a bare device
// path is a serial port, a bare host:port a TCP serial server.
func hint(raw string) string {
	switch {
	case strings.HasPrefix(raw, "/"):
		return fmt.Sprintf("; a device path is a serial port: did you mean serial://%s?", raw)
	case !strings.Contains(raw, "://") && strings.Count(raw, ":") == 1:
		host, port, _ := strings.Cut(raw, ":")
		if host != "" && port != "" && strings.Trim(port, "0123456789") == "" {
			return fmt.Sprintf("; a host:port is a TCP serial server: did you mean tcp://%s?", raw)
		}
	}
	return ""
}

// Open opens the target named by raw.
func Open(raw string, opt Options) (Target, error) {
	u, o, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return o(u, opt)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Wall is the host's wall clock.
var Wall Clock = wallClock{}

// ClockOf returns t's own clock if it has one, else the wall clock.
func ClockOf(t Target) Clock {
	if c, ok := t.(Clock); ok {
		return c
	}
	return Wall
}

// WitnessedReset is one reset a target saw happen to the board by itself,
// independently of what the board reports (QEMU's QMP events).
type WitnessedReset struct {
	At     time.Time // wall clock, when the target learnt of it
	Kind   string    // "watchdog" (the watchdog fired) or "reset" (the machine reset)
	Detail string    // the emulator's own words, e.g. "guest-reset"
}

// ResetWitness is a target that witnesses resets on its own: a run can
// compare them, count for count, with the BOOT reasons the board gave.
type ResetWitness interface {
	WitnessedResets() []WitnessedReset
}

// Symbolizer is a target that knows the firmware's ELF and can say where a
// code address lies (a crash frame's PC and LR).
type Symbolizer interface {
	Symbolize(addr uint64) (function, file string, line int, ok bool)
}

// Deterministic is a target whose board runs the same way every time it
// gets the same bytes at the same moments of its own clock: an emulator
// counting instructions (QEMU with icount). Bytes the host sends while a
// run goes land at moments the host's scheduling chose, and the run can
// no longer be repeated; a driver that sees Deterministic() true sends
// everything a run needs (the whole fault plan) before GO and nothing
// while it goes, and fails before GO when the board cannot hold the plan.
type Deterministic interface {
	Deterministic() bool
}

// PowerCycler is a target that can switch its board's power off and on
// again by itself: the simulator (a power-on of the model), QEMU (QMP
// system_reset). A physical rig is power-cycled through its inventory's
// power argv instead, which the harness runs; a plain serial or TCP
// target cannot power-cycle.
type PowerCycler interface {
	// PowerCycle switches the board off for off (at least), then on. It
	// returns at once; the board boots on its own time.
	PowerCycle(ctx context.Context, off time.Duration) (PowerReport, error)
}

// PowerReport says how a power cycle was done, for the record.
type PowerReport struct {
	How      string   `json:"how"`                 // "sim", "qmp system_reset", "rig power argv"
	Argv     []string `json:"argv,omitempty"`      // a rig's power argv as run
	ExitCode int      `json:"exit_code,omitempty"` // its exit status
	Output   string   `json:"output,omitempty"`    // its stdout and stderr (the end)
}

// BoardClock is a target that owns time and can read the board's own
// clock: the board time since its last boot. With it, a host-side fault
// (a power cycle) is carried out at the exact board time it is planned
// for, and a run stays reproducible.
type BoardClock interface {
	Clock
	Uptime() time.Duration
}

var (
	powerMu      sync.RWMutex
	powerSchemes = map[string]bool{}
)

// RegisterPowerCycler says that every target of scheme is a PowerCycler,
// so a campaign with a power-cycle fault can be checked before any target
// is opened.
func RegisterPowerCycler(scheme string) {
	powerMu.Lock()
	defer powerMu.Unlock()
	powerSchemes[scheme] = true
}

// CanPowerCycle reports whether the target URL raw names a scheme whose
// targets can power-cycle their board by themselves.
func CanPowerCycle(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	powerMu.RLock()
	defer powerMu.RUnlock()
	return powerSchemes[u.Scheme]
}
