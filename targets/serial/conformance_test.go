package serial_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/targettest"
)

func openPTY(t testing.TB, path string, reconnect time.Duration) *serial.Target {
	t.Helper()
	u, err := url.Parse("serial://" + path + "?baud=921600")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := serial.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := serial.Open(u.String(), spec, reconnect)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Rig {
		b := targettest.StartPTYBoard(t, boardserver.Config{})
		return targettest.Rig{Target: openPTY(t, b.Path(), 0), Inject: b.Server.Inject}
	})
}
