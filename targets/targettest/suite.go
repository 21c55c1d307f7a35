// Package targettest is the conformance suite every target passes, and the
// rigs the suites and end-to-end tests run on: the reference board on a
// real pseudo-terminal, and Debian's ser2net in front of it.
//
// A target package tests itself with
//
//	func TestConformance(t *testing.T) {
//		targettest.Run(t, func(t *testing.T) targettest.Rig { ... })
//	}
//
// The suite works on the target's own clock (targets.ClockOf), so the
// simulator passes it in virtual time and real links on the wall clock.
// It asserts on what happened (error kinds, frames, counters), never on how
// long something took: the timeouts below only stop a broken target from
// hanging the test.
package targettest

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Rig is one freshly powered-on board behind the target under test.
type Rig struct {
	Target targets.Target
	// Inject, if not nil, puts raw bytes on the board-to-host line between
	// two frames (line noise). Every rig should offer it.
	Inject func(p []byte)
}

// Opener makes a new rig for one subtest; it registers its own cleanup.
type Opener func(t *testing.T) Rig

// Patience bounds every wait for the board (on the target's clock): long
// enough for a loaded CI machine, short enough to fail rather than hang.
const Patience = 20 * time.Second

// Run runs the conformance suite.
func Run(t *testing.T, open Opener) {
	t.Run("BootBanner", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		b := c.boot()
		if b.Reason != wire.ReasonPowerOn {
			t.Errorf("first boot reason %q, want %q", b.Reason, wire.ReasonPowerOn)
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		c := newConn(t, open(t).Target)
		c.boot()
		for id := uint32(100); id < 105; id++ {
			c.ping(id)
		}
	})
	t.Run("DeadlinePast", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		c.boot()
		if err := rig.Target.SetReadDeadline(c.clk.Now().Add(-time.Second)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		_, err := rig.Target.Read(make([]byte, 64))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline: got %v, want an error wrapping os.ErrDeadlineExceeded", err)
		}
		c.ping(7) // the link still works after a timeout
	})
	t.Run("DeadlineFuture", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		c.boot()
		for range 3 {
			if err := rig.Target.SetReadDeadline(c.clk.Now().Add(100 * time.Millisecond)); err != nil {
				t.Fatalf("SetReadDeadline: %v", err)
			}
			// The booted board is idle: nothing comes before the deadline.
			n, err := rig.Target.Read(make([]byte, 64))
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read on an idle board: got %d bytes, %v; want an error wrapping os.ErrDeadlineExceeded", n, err)
			}
		}
		c.ping(8)
	})
	t.Run("ZeroLengthRead", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		c.boot()
		// io.Reader: a Read of an empty buffer returns at once, (0, nil)
		// or an error, on an idle board as on a busy one.
		done := make(chan error, 1)
		go func() {
			n, err := rig.Target.Read(nil)
			if err == nil && n != 0 {
				err = errors.New("bytes read into an empty buffer")
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Read(nil): %v", err)
			}
		case <-time.After(Patience):
			t.Fatal("Read(nil) did not return")
		}
		c.ping(13)
	})
	t.Run("CloseUnblocksRead", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		c.boot()
		if err := rig.Target.SetReadDeadline(time.Time{}); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		if _, owns := rig.Target.(targets.Clock); owns {
			// A target that owns time never blocks: Read runs the board.
			// After Close it must fail.
			if err := rig.Target.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := rig.Target.Read(make([]byte, 64)); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("Read after Close: got %v, want an error wrapping os.ErrClosed", err)
			}
			return
		}
		done := make(chan error, 1)
		started := make(chan struct{})
		go func() {
			close(started)
			_, err := rig.Target.Read(make([]byte, 64))
			done <- err
		}()
		<-started
		time.Sleep(50 * time.Millisecond) // let Read block (either order must work)
		if err := rig.Target.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrClosed) {
				t.Fatalf("blocked Read after Close returned %v, want an error wrapping os.ErrClosed", err)
			}
		case <-time.After(Patience):
			t.Fatal("Read still blocked after Close")
		}
	})
	t.Run("ResetIsSeenAsBoot", func(t *testing.T) {
		c := newConn(t, open(t).Target)
		first := c.boot()
		c.send(wire.Command{Type: wire.TypeReset, ID: 9})
		var b wire.Boot
		c.until("BOOT after RS", func(f *wire.Frame) bool {
			if f.Type != wire.TypeBoot {
				return false
			}
			var err error
			if b, err = f.Boot(); err != nil {
				t.Fatalf("BOOT frame: %v", err)
			}
			return true
		})
		if b.Reason != wire.ReasonSoftware {
			t.Errorf("reason after RS %q, want %q", b.Reason, wire.ReasonSoftware)
		}
		if b.BootCount != first.BootCount+1 {
			t.Errorf("boot count after RS %d, want %d", b.BootCount, first.BootCount+1)
		}
		c.until("table after the reboot", func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
		c.ping(10)
	})
	t.Run("GarbageSkippedAndCounted", func(t *testing.T) {
		rig := open(t)
		c := newConn(t, rig.Target)
		c.boot()
		// Host to board: the board skips noise and a bad frame and still
		// answers the next good one.
		if _, err := rig.Target.Write([]byte("\x00\xffnoise\n$PG,1*0000\n")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		c.ping(11)
		if rig.Inject == nil {
			t.Fatal("the rig cannot inject line noise: every rig must offer Inject")
		}
		before := c.r.Stats()
		rig.Inject([]byte("\r\n\x00boot loader v1.2 \xfe\xff\n$EV,1,2,RL*0000\n$AK,3"))
		c.ping(12)
		st := c.r.Stats()
		if st.GarbageBytes-before.GarbageBytes < 20 {
			t.Errorf("garbage bytes counted: %d, want at least 20", st.GarbageBytes-before.GarbageBytes)
		}
		if st.BadCRC == before.BadCRC {
			t.Errorf("the frame with a bad CRC was not counted")
		}
		if st.Truncated == before.Truncated {
			t.Errorf("the cut frame was not counted as truncated")
		}
	})
}

// conn reads frames from a target on its own clock.
type conn struct {
	t   *testing.T
	tg  targets.Target
	clk targets.Clock
	r   *wire.Reader
	buf []byte
}

func newConn(t *testing.T, tg targets.Target) *conn {
	t.Helper()
	t.Cleanup(func() { tg.Close() })
	return &conn{t: t, tg: tg, clk: targets.ClockOf(tg), r: wire.NewReader(tg)}
}

// until reads frames until pred is true, failing after Patience.
func (c *conn) until(what string, pred func(*wire.Frame) bool) {
	c.t.Helper()
	if err := c.tg.SetReadDeadline(c.clk.Now().Add(Patience)); err != nil {
		c.t.Fatalf("SetReadDeadline: %v", err)
	}
	for {
		f, err := c.r.Next()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if pred(f) {
			return
		}
	}
}

// boot reads the power-on banner and the table.
func (c *conn) boot() wire.Boot {
	c.t.Helper()
	var b wire.Boot
	c.until("BOOT banner", func(f *wire.Frame) bool {
		if f.Type != wire.TypeBoot {
			return false
		}
		var err error
		if b, err = f.Boot(); err != nil {
			c.t.Fatalf("BOOT frame: %v", err)
		}
		return true
	})
	c.until("task table", func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	return b
}

func (c *conn) send(cmd wire.Command) {
	c.t.Helper()
	c.buf = wire.AppendCommand(c.buf[:0], cmd)
	if _, err := c.tg.Write(c.buf); err != nil {
		c.t.Fatalf("Write: %v", err)
	}
}

// ping sends PG id and waits for AK id.
func (c *conn) ping(id uint32) {
	c.t.Helper()
	c.send(wire.Command{Type: wire.TypePing, ID: id})
	c.until("AK to PG", func(f *wire.Frame) bool {
		if f.Type != wire.TypeAck {
			return false
		}
		got, err := f.Ack()
		return err == nil && got == id
	})
}
