package tcp_test

import (
	"testing"

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
