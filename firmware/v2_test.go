package firmware

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// resend sends c again with the id it had.
func (h *host) resend(c wire.Command, id uint32) {
	c.ID = id
	h.b.Receive(wire.AppendCommand(nil, c))
}

// PROTOCOL.md 2.2: a repeated id gets its first answer and the command is
// not carried out twice; the memory does not survive a reset.
func TestRepeatedIDIsAnsweredOnce(t *testing.T) {
	h := pathfinderHost(t, Config{Trace: 1})
	h.advance(50 * ms)
	n := len(h.lines)
	goCmd := wire.Command{Type: wire.TypeStart, Duration: 500_000}
	id := h.send(goCmd)
	h.resend(goCmd, id)
	bad := wire.Command{Type: wire.TypeConfig, Key: "colour", Value: "red"}
	bid := h.send(bad)
	h.resend(bad, bid)
	h.advance(10 * ms)
	got := stripCRC(h.lines[n:])
	gos, acks := 0, 0
	for _, l := range got {
		if strings.HasPrefix(l, "EV,") && strings.Contains(l, ",GO,") {
			gos++
		}
		if l == "AK,"+itoa(id) {
			acks++
		}
	}
	if gos != 1 || acks != 2 {
		t.Fatalf("GO sent twice with one id: %d GO events, %d AKs in %q", gos, acks, got)
	}
	if c := strings.Count(strings.Join(got, " "), "NK,"+itoa(bid)+",busy"); c != 2 {
		t.Fatalf("repeated refused CF: %d answers NK busy, want 2 (the first answer again): %q", c, got)
	}
	// After a reset the memory is gone: the same id is a new command.
	h.send(wire.Command{Type: wire.TypeReset})
	h.advance(60 * ms)
	n = len(h.lines)
	h.resend(goCmd, id)
	h.advance(time.Duration(1) * ms)
	if got := h.types(n); !strings.HasPrefix(got, "AK EV") {
		t.Fatalf("GO with an id from before the reset: %s", got)
	}
}

// PROTOCOL.md 2.3: ID re-sends the banner of the current boot and the
// table, during a run, without disturbing it.
func TestIdentifyResendsBannerAndTable(t *testing.T) {
	h := pathfinderHost(t, Config{Trace: 1})
	h.advance(50 * ms)
	h.send(wire.Command{Type: wire.TypeStart, Duration: 1_000_000})
	h.advance(300 * ms)
	n := len(h.lines)
	id := h.send(wire.Command{Type: wire.TypeIdentify})
	h.read()
	if got := h.types(n); !strings.HasPrefix(got, "AK BT TK TK TK TK TK TK TK LK TE") {
		t.Fatalf("ID answered %s", got)
	}
	fs := h.frames(n)
	if a, _ := fs[0].Ack(); a != id {
		t.Fatalf("AK %d, want %d", a, id)
	}
	bt, _ := fs[1].Boot()
	if bt.BootCount != 1 || bt.Reason != "POR" || bt.Proto != wire.ProtoV2 || bt.Uptime < 300_000 {
		t.Fatalf("re-sent banner %+v: want boot 1, POR, v2, the uptime now", bt)
	}
	h.advance(time.Second)
	if got := h.types(len(h.lines) - 1); got != "DN" {
		t.Fatalf("the run did not end with DN after ID: %s", got)
	}
}

// PROTOCOL.md 2.4: PG after a run repeats its DN; SP on an idle board is AK.
func TestPingRepeatsDoneAndIdleStop(t *testing.T) {
	h := pathfinderHost(t, Config{Trace: 0})
	h.advance(50 * ms)
	n := len(h.lines)
	h.send(wire.Command{Type: wire.TypeStop})
	h.send(wire.Command{Type: wire.TypePing})
	h.read()
	if got := h.types(n); got != "AK AK" {
		t.Fatalf("SP and PG on an idle board before any run: %s", got)
	}
	h.send(wire.Command{Type: wire.TypeStart, Duration: 200_000})
	h.advance(300 * ms)
	dn := h.lines[len(h.lines)-1]
	n = len(h.lines)
	h.send(wire.Command{Type: wire.TypePing})
	h.read()
	if got := h.lines[n:]; len(got) != 2 || got[0] != dn || !strings.HasPrefix(got[1], "$AK,") {
		t.Fatalf("PG after the run answered %q, want %q then AK", got, dn)
	}
	h.send(wire.Command{Type: wire.TypeStart, Duration: 200_000})
	h.advance(10 * ms)
	n = len(h.lines)
	h.send(wire.Command{Type: wire.TypePing})
	h.read()
	if got := h.types(n); got != "AK" {
		t.Fatalf("PG during the next run: %s, want AK only", got)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
