package boardserver_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/boardserver"
	"github.com/hilchaos/hilchaos/targets/targettest"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// TestListenerClientsLeaveNoGoroutines: a client that connects and goes
// away leaves nothing running in the server (it used to leave one
// goroutine per connection until the server stopped).
func TestListenerClientsLeaveNoGoroutines(t *testing.T) {
	p, err := firmware.Lookup("pathfinder")
	if err != nil {
		t.Fatal(err)
	}
	s, err := boardserver.New(boardserver.Config{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	cycle := func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// A ping answered: the server has surely attached this client.
		if _, err := c.Write(wire.AppendCommand(nil, wire.Command{Type: wire.TypePing, ID: 1})); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(targettest.Patience))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatalf("no answer to PG from the board: %v", err)
		}
		c.Close()
	}
	cycle()
	settle := func(limit int) int {
		deadline := time.Now().Add(targettest.Patience)
		n := runtime.NumGoroutine()
		for n > limit && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	base := runtime.NumGoroutine()
	const clients = 50
	for range clients {
		cycle()
	}
	if n := settle(base + 5); n > base+5 {
		t.Errorf("%d goroutines after %d clients came and went, %d before", n, clients, base)
	}
}

// TestTalkBeforeRun: a host that talks before Run has started the clock
// reaches a board standing at time 0 (it used to be advanced to the end of
// time, spinning forever with the server's lock held).
func TestTalkBeforeRun(t *testing.T) {
	p, err := firmware.Lookup("pathfinder")
	if err != nil {
		t.Fatal(err)
	}
	s, err := boardserver.New(boardserver.Config{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	host, board := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Attach(context.Background(), board) }()
	if _, err := host.Write(wire.AppendCommand(nil, wire.Command{Type: wire.TypePing, ID: 1})); err != nil {
		t.Fatal(err)
	}
	host.Close()
	select {
	case <-done:
	case <-time.After(targettest.Patience):
		t.Fatal("the board server did not take a command sent before Run")
	}
}
