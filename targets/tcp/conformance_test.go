package tcp_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/targettest"
	"github.com/hilchaos/hilchaos/targets/tcp"
)

// TestConformance runs the suite through Debian's ser2net in front of the
// reference board on a PTY: the TCP target as remote rigs use it.
func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Rig {
		b := targettest.StartPTYBoard(t, boardserver.Config{})
		addr := targettest.Ser2net(t, b.Path())
		tg, err := tcp.Open("tcp://"+addr, addr, 0)
		if err != nil {
			t.Fatal(err)
		}
		return targettest.Rig{Target: tg, Inject: b.Server.Inject}
	})
}

// A host name that does not exist fails at once (RFC 6761 reserves
// .invalid, so no DNS server is asked); a refused connection is waited for.
func TestNoSuchHostFailsAtOnce(t *testing.T) {
	_, err := tcp.Open("tcp://no-such-host.invalid:1", "no-such-host.invalid:1", time.Hour)
	if !errors.Is(err, targets.ErrUnreachable) || !errors.Is(err, targets.ErrPermanent) {
		t.Fatalf("err = %v, want unreachable and permanent", err)
	}
	if !strings.Contains(err.Error(), "no such host") {
		t.Errorf("%q does not name the cause", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = tcp.Open("tcp://"+addr, addr, 50*time.Millisecond)
	if !errors.Is(err, targets.ErrUnreachable) || errors.Is(err, targets.ErrPermanent) {
		t.Fatalf("refused: err = %v, want unreachable, not permanent", err)
	}
	if !strings.Contains(err.Error(), "reconnect window") {
		t.Errorf("refused: %q does not say it waited", err)
	}
}
