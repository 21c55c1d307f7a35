package firmware

import (
	"strings"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// FuzzReceive: no host input makes the board panic or stop answering.
func FuzzReceive(f *testing.F) {
	f.Add([]byte("$PG,1*0000\n"))
	f.Add(wire.AppendCommand(nil, wire.Command{Type: wire.TypeStart, ID: 3, Duration: 1000}))
	f.Add(wire.AppendCommand(nil, wire.Command{Type: wire.TypeFire, ID: 4, Fault: wire.FaultCmd{Kind: "LH", Task: -5, Lock: 99}}))
	f.Add(wire.AppendCommand(nil, wire.Command{Type: wire.TypeSchedule, ID: 4, At: 1 << 62, Fault: wire.FaultCmd{Kind: "LB", Priority: -3, Length: 1 << 39}}))
	p, _ := Lookup("pathfinder")
	f.Fuzz(func(t *testing.T, in []byte) {
		h := newHost(t, p, Config{Trace: 2})
		h.advance(50 * ms)
		h.b.Receive(in)
		h.advance(300 * ms)
		h.b.Receive([]byte("\n"))
		n := len(h.lines)
		h.send(wire.Command{Type: wire.TypeReset})
		h.advance(50 * ms)
		h.send(wire.Command{Type: wire.TypePing})
		h.read()
		last := h.lines[len(h.lines)-1]
		if len(h.lines) == n || !strings.HasPrefix(last, "$AK,") {
			t.Fatalf("board stopped answering; last frame %q", last)
		}
	})
}

// FuzzParseProfile: a task-set file is either rejected with an error or
// gives a profile a board accepts.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("name: a\ntasks:\n  - name: t\n    priority: 1\n    period: 1ms\n    body: [{compute: 1us..2us}]\n"))
	f.Add([]byte("tasks: [1, {body: [{lock: x}]}]\nlocks: {a: b}\n"))
	f.Add([]byte("name: a\nirq_handler: 26us\ntasks:\n  - name: t\n    priority: 1\n    period: 1ms\n    body: [{compute: 1us}]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := parseProfile("f.yaml", in)
		if err != nil {
			return
		}
		if _, err := NewBoard(p, Config{}); err != nil {
			t.Fatalf("accepted profile rejected by NewBoard: %v", err)
		}
	})
}

func TestHugeTimesRefused(t *testing.T) {
	p, _ := Lookup("pathfinder")
	h := newHost(t, p, Config{})
	h.advance(50 * ms)
	n := len(h.lines)
	h.send(wire.Command{Type: wire.TypeSchedule, At: 1 << 62, Fault: wire.FaultCmd{Kind: "LB", Priority: 1, Length: 1}})
	h.send(wire.Command{Type: wire.TypeStart, Duration: 1 << 62})
	h.read()
	if got := strings.Join(stripCRC(h.lines[n:]), " "); got != "NK,1,bad_value NK,2,bad_value" {
		t.Fatalf("got %s", got)
	}
}
