// Package tcp is the target for a board behind a raw TCP serial server
// such as ser2net (a "raw" or "telnet-less" port): the bytes on the socket
// are the bytes on the board's UART.
//
// URL:
//
//	tcp://rig7.lab:3001
//
// A dropped connection is dialled again for the reconnect window
// (targets.Options.Reconnect) and the gap is recorded.
package tcp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/internal/link"
)

func init() { targets.Register("tcp", open) }

// DialTimeout bounds one connection attempt.
const DialTimeout = 5 * time.Second

// WriteTimeout bounds one write: a server that stops taking bytes for this
// long is treated as a broken link.
const WriteTimeout = 10 * time.Second

// Target is a board behind a TCP serial server.
type Target struct {
	*link.Link
	name string
	addr string
}

var (
	_ targets.Target      = (*Target)(nil)
	_ targets.GapReporter = (*Target)(nil)
)

// ParseURL checks a tcp URL and returns its host:port.
func ParseURL(u *url.URL) (string, error) {
	bad := func(format string, a ...any) (string, error) {
		return "", &targets.URLError{URL: u.String(), Reason: fmt.Sprintf(format, a...)}
	}
	if u.Host == "" || u.Port() == "" {
		return bad("want tcp://host:port")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("a tcp URL has no path")
	}
	if len(u.Query()) > 0 {
		return bad("a tcp URL takes no parameters")
	}
	return u.Host, nil
}

func open(u *url.URL, opt targets.Options) (targets.Target, error) {
	addr, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	return Open(u.String(), addr, opt.Reconnect)
}

// Open connects to addr, waiting up to reconnect for the server to accept.
func Open(name, addr string, reconnect time.Duration) (*Target, error) {
	t := &Target{name: name, addr: addr}
	l, err := link.DialNew(name, t.dial, reconnect)
	if err != nil {
		return nil, err
	}
	t.Link = l
	return t, nil
}

// conn sets a write deadline on every write, so a stalled server breaks
// the link instead of blocking the harness.
type conn struct{ net.Conn }

func (c conn) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Error is a connection that could not be made. A host name that does not
// resolve also matches targets.ErrPermanent: waiting does not create it.
type Error struct {
	Addr string
	Err  error
}

func (e *Error) Error() string {
	// Go's dial errors name the address already ("dial tcp 10.0.0.7:3001:
	// connect: connection refused").
	msg := fmt.Sprintf("tcp connect: %v", e.Err)
	if e.permanent() {
		msg += "; check the rig's host name"
	}
	return msg
}

func (e *Error) Unwrap() []error {
	if e.permanent() {
		return []error{targets.ErrUnreachable, targets.ErrPermanent, e.Err}
	}
	return []error{targets.ErrUnreachable, e.Err}
}

func isInvalidTLD(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "invalid" || strings.HasSuffix(host, ".invalid")
}

func (e *Error) permanent() bool {
	var dns *net.DNSError
	return errors.As(e.Err, &dns) && dns.IsNotFound
}

func (t *Target) dial() (link.Conn, error) {
	if host, _, _ := net.SplitHostPort(t.addr); isInvalidTLD(host) {
		// RFC 6761 6.4: resolvers answer names under .invalid with
		// NXDOMAIN at once; Go's asks the DNS server, which may be slow or
		// absent on a lab machine.
		return nil, &Error{Addr: t.addr, Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}}
	}
	c, err := net.DialTimeout("tcp", t.addr, DialTimeout)
	if err != nil {
		return nil, &Error{Addr: t.addr, Err: err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true) //nolint:errcheck // latency tweak only
	}
	return conn{c}, nil
}

// Name implements targets.Target.
func (t *Target) Name() string { return t.name }
