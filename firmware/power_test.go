package firmware

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// A power cycle mid-run: the board is silent and deaf while off, loses
// what was still on the UART and its .noinit area, and boots as from
// power-on (POR, boot count 1, uptime from power-on) off plus the boot
// delay later.
func TestPowerCycle(t *testing.T) {
	h := pathfinderHost(t, Config{Mutex: ProtoNone, Trace: 2, Baud: 115200})
	h.advance(100 * time.Millisecond)
	h.send(wire.Command{Type: wire.TypeReset}) // a software reset: boot count 2
	h.advance(100 * time.Millisecond)
	h.send(wire.Command{Type: wire.TypeStart, Duration: 10_000_000})
	h.advance(2 * time.Second)
	if len(h.b.BlackBox()) == 0 {
		t.Fatal("no black box to lose")
	}
	if _, pending := h.b.tx.next(); !pending {
		t.Fatal("the UART is idle: nothing to lose")
	}
	at := h.b.Now()
	from := len(h.lines)
	h.b.PowerCycle(300 * time.Millisecond)
	h.send(wire.Command{Type: wire.TypePing}) // nobody listens while off
	h.advance(300*time.Millisecond + 50*time.Millisecond - 1)
	if len(h.lines) != from {
		t.Fatalf("output while off or booting: %q", h.lines[from:])
	}
	h.advance(60 * time.Millisecond) // the banner and table on the line (115200 baud)
	if got, want := h.types(from), "BT TK TK TK TK TK TK TK LK TE"; got != want {
		t.Fatalf("frames after power-on %q, want %q", got, want)
	}
	bt, _ := h.frames(from)[0].Boot()
	if bt.Reason != wire.ReasonPowerOn || bt.BootCount != 1 || bt.Uptime != 50_000 {
		t.Fatalf("banner %+v: want POR, boot count 1, uptime 50 ms", bt)
	}
	if got := h.b.BootedAt(); got != at+int64(300*time.Millisecond) {
		t.Fatalf("booted at %d, want %d (power-on)", got, at+int64(300*time.Millisecond))
	}
	if n := len(h.b.BlackBox()); n != 0 {
		t.Fatalf("black box kept %d events across the power cycle", n)
	}
}
