package boardserver_test

import (
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/targettest"
	"github.com/hilchaos/hilchaos/targets/wire"
)

type client struct {
	t  *testing.T
	tg *serial.Target
	r  *wire.Reader
	b  []byte
}

func dial(t *testing.T, path string) *client {
	u, _ := url.Parse("serial://" + path)
	sp, err := serial.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := serial.Open(u.String(), sp, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	return &client{t: t, tg: tg, r: wire.NewReader(tg)}
}

func (c *client) send(cmd wire.Command) {
	c.b = wire.AppendCommand(c.b[:0], cmd)
	if _, err := c.tg.Write(c.b); err != nil {
		c.t.Fatal(err)
	}
}

// until reads frames until pred holds; it fails on silence longer than quiet.
func (c *client) until(what string, quiet time.Duration, pred func(*wire.Frame) bool) {
	c.t.Helper()
	for {
		c.tg.SetReadDeadline(time.Now().Add(quiet))
		f, err := c.r.Next()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if pred(f) {
			return
		}
	}
}

func is(t wire.Type) func(*wire.Frame) bool { return func(f *wire.Frame) bool { return f.Type == t } }

func ack(id uint32) func(*wire.Frame) bool {
	return func(f *wire.Frame) bool {
		got, err := f.Ack()
		return f.Type == wire.TypeAck && err == nil && got == id
	}
}

// TestFreezeUntilReset: the test mode that makes a board hang goes silent
// after GO, answers nothing but RS, and reboots on it.
func TestFreezeUntilReset(t *testing.T) {
	b := targettest.StartPTYBoard(t, boardserver.Config{FreezeAfter: 300 * time.Millisecond})
	c := dial(t, b.Path())
	c.until("table", targettest.Patience, is(wire.TypeTableEnd))
	c.send(wire.Command{Type: wire.TypeStart, ID: 1, Duration: 60_000_000})
	c.until("events", targettest.Patience, is(wire.TypeEvent))
	// Silence: reads time out once the board froze.
	var err error
	for err == nil {
		c.tg.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.r.Next()
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("frozen board: %v", err)
	}
	c.send(wire.Command{Type: wire.TypePing, ID: 2}) // ignored while frozen
	c.send(wire.Command{Type: wire.TypeReset, ID: 3})
	c.until("AK to RS", targettest.Patience, ack(3))
	c.until("BOOT", targettest.Patience, is(wire.TypeBoot))
	c.until("table", targettest.Patience, is(wire.TypeTableEnd))
	c.send(wire.Command{Type: wire.TypePing, ID: 4})
	c.until("AK to PG after the reboot", targettest.Patience, ack(4))
}
