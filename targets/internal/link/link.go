// Package link keeps a byte stream to a board open across breaks: when the
// connection fails (a serial port that vanishes while a USB board
// re-enumerates, a TCP connection that drops) it dials again with backoff
// for a bounded window, records the gap, and carries on. The transports
// (targets/serial, targets/tcp) only say how to dial; the reconnect rules
// live here, once.
package link

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

// Conn is one open connection with net.Conn's read-deadline semantics: a
// Read past the deadline fails with an error wrapping
// os.ErrDeadlineExceeded, and Close makes a blocked Read return.
type Conn interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
}

// Dial opens a fresh connection. It is called again after every break, so
// it must resolve the board afresh (re-enumerate USB, re-read a symlink).
// Only errors matching targets.ErrUnreachable are retried, and of those not
// the ones that also match targets.ErrPermanent.
type Dial func() (Conn, error)

// Backoff bounds between dial attempts.
const (
	firstBackoff = 10 * time.Millisecond
	maxBackoff   = 500 * time.Millisecond
)

// maxGaps bounds the gaps kept; later ones are counted in the last.
const maxGaps = 1000

// DownError is a link that broke and did not come back within the window.
type DownError struct {
	Name   string
	Since  time.Time
	Window time.Duration
	Cause  error // what broke the link
	Last   error // the last dial error
}

func (e *DownError) Error() string {
	// The name is not repeated here: whoever reports the error names the
	// target once, in front.
	if e.Cause == errNotOpen && e.Last != nil && errors.Is(e.Last, targets.ErrPermanent) {
		return fmt.Sprintf("cannot open: %v", e.Last)
	}
	msg := fmt.Sprintf("link lost (%v)", e.Cause)
	if e.Cause == errNotOpen {
		msg = "cannot open"
	}
	if e.Window > 0 {
		msg += fmt.Sprintf(" and not back within the reconnect window of %v", e.Window)
	}
	if e.Last != nil {
		msg += fmt.Sprintf("; last attempt: %v", e.Last)
	}
	return msg
}

// Unwrap makes the error match targets.ErrUnreachable, the cause and the
// last dial error.
func (e *DownError) Unwrap() []error {
	errs := []error{targets.ErrUnreachable, e.Cause}
	if e.Last != nil {
		errs = append(errs, e.Last)
	}
	return errs
}

var errNotOpen = errors.New("not yet open")

// Link is a reconnecting Conn. Read and Write may be called from one
// goroutine, SetReadDeadline and Close from any.
type Link struct {
	name   string
	dial   Dial
	window time.Duration

	redial sync.Mutex // one dialer at a time
	mu     sync.Mutex
	conn   Conn // nil while down
	closed bool
	done   chan struct{}
	dl     time.Time // read deadline
	downAt time.Time
	cause  error
	failed error // set once the window ran out: the link stays down
	gaps   []targets.Gap
}

// New wraps the open connection c; dial reopens it after a break, for up
// to window (0: never).
func New(name string, c Conn, dial Dial, window time.Duration) *Link {
	return &Link{name: name, conn: c, dial: dial, window: window, done: make(chan struct{})}
}

// DialNew opens the first connection, retrying like a reconnect for up to
// window: a board that is re-enumerating when the run starts is waited for.
func DialNew(name string, dial Dial, window time.Duration) (*Link, error) {
	l := New(name, nil, dial, window)
	l.downAt, l.cause = time.Now(), errNotOpen
	if _, err := l.get(); err != nil {
		var de *DownError
		if errors.As(err, &de) && de.Last != nil && !errors.Is(de.Last, targets.ErrUnreachable) {
			return nil, de.Last
		}
		return nil, err
	}
	l.gaps = nil // the first open is not a gap
	return l, nil
}

// Read reads from the current connection, reconnecting after a break. The
// time spent reconnecting does not count against the read deadline: the
// deadline measures the board's silence while the link is up.
func (l *Link) Read(p []byte) (int, error) {
	if len(p) == 0 {
		// A connection answers (0, nil), which the loop below would
		// take for "no data yet" and ask again, forever.
		return 0, nil
	}
	for {
		c, err := l.get()
		if err != nil {
			return 0, err
		}
		n, err := c.Read(p)
		switch {
		case n > 0:
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				l.broken(c, err)
			}
			return n, nil
		case err == nil:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return 0, err
		}
		if l.isClosed() {
			return 0, l.closedErr()
		}
		l.broken(c, err)
	}
}

// Write writes p, reconnecting after a break and sending what is left on
// the new connection.
func (l *Link) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		c, err := l.get()
		if err != nil {
			return done, err
		}
		n, err := c.Write(p[done:])
		done += max(n, 0)
		if err != nil {
			if l.isClosed() {
				return done, l.closedErr()
			}
			l.broken(c, err)
		}
	}
	return done, nil
}

// SetReadDeadline sets the deadline on the current and every later
// connection.
func (l *Link) SetReadDeadline(t time.Time) error {
	l.mu.Lock()
	l.dl = t
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		return c.SetReadDeadline(t)
	}
	return nil
}

// Close closes the link; a blocked Read or a reconnect in progress returns.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}

// Gaps implements targets.GapReporter.
func (l *Link) Gaps() []targets.Gap {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]targets.Gap(nil), l.gaps...)
}

// Conn is the current connection, nil while down.
func (l *Link) Conn() Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn
}

func (l *Link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *Link) closedErr() error { return fmt.Errorf("%s: %w", l.name, os.ErrClosed) }

// broken marks c as failed with err, if it is still the current connection.
func (l *Link) broken(c Conn, err error) {
	l.mu.Lock()
	if l.conn == c {
		l.conn = nil
		l.downAt, l.cause = time.Now(), err
	}
	l.mu.Unlock()
	c.Close() //nolint:errcheck // it is broken already
}

// get returns the open connection, dialling until the window runs out.
func (l *Link) get() (Conn, error) {
	l.mu.Lock()
	c, closed, failed := l.conn, l.closed, l.failed
	l.mu.Unlock()
	switch {
	case closed:
		return nil, l.closedErr()
	case c != nil:
		return c, nil
	case failed != nil:
		return nil, failed
	}

	l.redial.Lock()
	defer l.redial.Unlock()
	l.mu.Lock()
	c, failed = l.conn, l.failed
	downAt, cause := l.downAt, l.cause
	l.mu.Unlock()
	switch {
	case c != nil:
		return c, nil // another goroutine reconnected meanwhile
	case failed != nil:
		return nil, failed // or gave up meanwhile: the window is spent
	}
	var last error
	backoff := firstBackoff
	for {
		c, err := l.dial()
		if err == nil {
			if err = l.up(c, downAt, cause); err == nil {
				return c, nil
			}
			if l.isClosed() {
				return nil, err
			}
		}
		last = err
		left := l.window - time.Since(downAt)
		if left <= 0 || !errors.Is(err, targets.ErrUnreachable) || errors.Is(err, targets.ErrPermanent) {
			break // out of time, or an error that waiting does not cure
		}
		wait := time.NewTimer(min(backoff, left))
		select {
		case <-l.done:
			wait.Stop()
			return nil, l.closedErr()
		case <-wait.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
	err := &DownError{Name: l.name, Since: downAt, Window: l.window, Cause: cause, Last: last}
	l.mu.Lock()
	l.failed = err
	l.mu.Unlock()
	return nil, err
}

// up installs the new connection c and records the gap it ends.
func (l *Link) up(c Conn, downAt time.Time, cause error) error {
	end := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close() //nolint:errcheck // the link is closed
		return l.closedErr()
	}
	dl := l.dl
	if !dl.IsZero() {
		dl = dl.Add(end.Sub(downAt))
	}
	if err := c.SetReadDeadline(dl); err != nil {
		c.Close() //nolint:errcheck // unusable
		return err
	}
	l.dl, l.conn = dl, c
	g := targets.Gap{Start: downAt, End: end, Cause: cause.Error()}
	if len(l.gaps) < maxGaps {
		l.gaps = append(l.gaps, g)
	} else {
		l.gaps[maxGaps-1].End = end
	}
	return nil
}
