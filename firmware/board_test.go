package firmware

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// host drives a board over its byte interface, as the sim target does.
type host struct {
	t     testing.TB
	b     *Board
	lines []string // every frame received, without the line end
	part  []byte
	id    uint32
}

func newHost(t testing.TB, p *Profile, cfg Config) *host {
	t.Helper()
	b, err := NewBoard(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &host{t: t, b: b}
}

func (h *host) read() {
	var buf [4096]byte
	for {
		n := h.b.Read(buf[:])
		if n == 0 {
			return
		}
		h.part = append(h.part, buf[:n]...)
		for {
			i := bytes.IndexByte(h.part, '\n')
			if i < 0 {
				break
			}
			h.lines = append(h.lines, string(h.part[:i]))
			h.part = h.part[i+1:]
		}
	}
}

// advance moves the board d ahead, reading as it goes.
func (h *host) advance(d time.Duration) {
	end := h.b.Now() + int64(d)
	for {
		t, ok := h.b.NextEvent()
		if !ok || t > end {
			break
		}
		h.b.AdvanceTo(t)
		h.read()
	}
	h.b.AdvanceTo(end)
	h.read()
}

func (h *host) send(c wire.Command) uint32 {
	h.id++
	c.ID = h.id
	h.b.Receive(wire.AppendCommand(nil, c))
	return h.id
}

// frames parses lines[from:] (every one must parse).
func (h *host) frames(from int) []wire.Frame {
	h.t.Helper()
	out := make([]wire.Frame, 0, len(h.lines)-from)
	for _, l := range h.lines[from:] {
		var f wire.Frame
		if err := wire.ParseFrame([]byte(l), &f); err != nil {
			h.t.Fatalf("board sent a bad frame %q: %v", l, err)
		}
		out = append(out, f)
	}
	return out
}

func (h *host) types(from int) string {
	var s []string
	for _, f := range h.frames(from) {
		s = append(s, f.Type.String())
	}
	return strings.Join(s, " ")
}

func evOf(t testing.TB, f *wire.Frame) wire.Event {
	e, err := f.Event()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pathfinderHost(t testing.TB, cfg Config) *host {
	p, _ := Lookup("pathfinder")
	return newHost(t, p, cfg)
}

func TestBootBanner(t *testing.T) {
	h := pathfinderHost(t, Config{Mutex: ProtoInherit, Trace: 1})
	h.b.AdvanceTo(int64(50*ms) - 1)
	h.read()
	if len(h.lines) != 0 {
		t.Fatalf("output before BootDelay: %q", h.lines)
	}
	h.advance(1)
	if got, want := h.types(0), "BT TK TK TK TK TK TK TK LK TE"; got != want {
		t.Fatalf("boot frames %q, want %q", got, want)
	}
	fs := h.frames(0)
	bt, _ := fs[0].Boot()
	if bt != (wire.Boot{Name: "pathfinder-model", Version: "1.0.0", Build: "go-ref-1", Reason: "POR", BootCount: 1, Uptime: 50000, Proto: wire.ProtoV2}) {
		t.Errorf("BT = %+v", bt)
	}
	dist, _ := fs[2].Task()
	if dist != (wire.TaskInfo{Index: 1, Name: "bc_dist", Priority: 9, Period: 125000, Deadline: 120000, Offset: 2000, WCET: 5000}) {
		t.Errorf("bc_dist TK = %+v", dist)
	}
	load, _ := fs[7].Task()
	if load != (wire.TaskInfo{Index: 6, Name: "load"}) {
		t.Errorf("load TK = %+v", load)
	}
	lk, _ := fs[8].Lock()
	if lk != (wire.LockInfo{Index: 0, Name: "bus", Protocol: "inherit", Ceiling: 9}) {
		t.Errorf("LK = %+v", lk)
	}
	nt, nl, _ := fs[9].TableEnd()
	if nt != 7 || nl != 1 {
		t.Errorf("TE = %d,%d", nt, nl)
	}
	if _, ok := h.b.NextEvent(); ok {
		t.Errorf("board not idle after boot")
	}
}

func TestCommands(t *testing.T) {
	h := pathfinderHost(t, Config{Trace: 1})
	h.send(wire.Command{Type: wire.TypePing}) // while booting: lost
	h.advance(50 * ms)
	n := len(h.lines)
	h.b.Receive([]byte("garbage\n$PG,5*0000\n$$$\n"))                                                        // noise and a bad CRC
	h.b.Receive(bytes.Repeat([]byte("$PG,1"), 100))                                                          // over-long
	h.b.Receive(append([]byte("\n"), wire.AppendCommand(nil, wire.Command{Type: wire.TypePing, ID: 77})...)) // split in two Receives below
	h.send(wire.Command{Type: wire.TypeConfig, Key: "colour", Value: "red"})
	h.send(wire.Command{Type: wire.TypeConfig, Key: "trace", Value: "7"})
	h.send(wire.Command{Type: wire.TypeConfig, Key: "mutex", Value: "ceiling"})
	h.send(wire.Command{Type: wire.TypeSchedule, At: 5, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLockHold, Task: 9, Lock: 0, Extra: 1}})
	h.send(wire.Command{Type: wire.TypeSchedule, At: 5, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLockHold, Task: 0, Lock: 0, Extra: 1}})
	h.send(wire.Command{Type: wire.TypeFire, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLoadBurst, Priority: 3, Length: 10}})
	h.b.Receive([]byte("$FN,99,1,XX*" + crcHex("FN,99,1,XX") + "\n"))
	h.send(wire.Command{Type: wire.TypeStart, Duration: 1000})
	h.send(wire.Command{Type: wire.TypeStart})
	h.send(wire.Command{Type: wire.TypeConfig, Key: "trace", Value: "2"})
	h.read()
	want := []string{"AK,77", "NK,2,bad_key", "NK,3,bad_value", "AK,4", "NK,5,bad_task", "NK,6,bad_lock", "NK,7,idle",
		"NK,99,bad_fault", "AK,8", "EV,0,50000,GO,-1,1000", "NK,9,busy", "NK,10,busy"}
	if got := stripCRC(h.lines[n:]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("answers\n got %q\nwant %q", got, want)
	}
	h.advance(2 * ms)
	if got := h.types(len(h.lines) - 1); got != "DN" {
		t.Fatalf("last frame %s, want DN", got)
	}
	// The run used the ceiling protocol set with CF: bc_sched (prio 10)
	// ran first, no PR at trace 1.
	n = len(h.lines)
	h.send(wire.Command{Type: wire.TypeStart})
	h.advance(300 * ms)
	h.send(wire.Command{Type: wire.TypeStop})
	h.read()
	if got := stripCRC(h.lines[len(h.lines)-2:]); got[0][:2] != "DN" || got[1] != "AK,12" {
		t.Fatalf("SP answered %q", got)
	}
	if strings.Contains(strings.Join(h.lines[n:], " "), "PR") {
		t.Errorf("PR events at trace 1")
	}
	// RS: AK, then after BootDelay a BT with reason SW and boot count 2.
	n = len(h.lines)
	h.send(wire.Command{Type: wire.TypeReset})
	h.advance(50 * ms)
	if got := h.types(n); got != "AK BT TK TK TK TK TK TK TK LK TE" {
		t.Fatalf("after RS: %s", got)
	}
	fs := h.frames(n)
	if bt, _ := fs[1].Boot(); bt.Reason != "SW" || bt.BootCount != 2 {
		t.Fatalf("BT after RS: %+v", bt)
	}
	if lk, _ := fs[9].Lock(); lk.Protocol != "none" {
		t.Fatalf("CF mutex survived the reset: %+v", lk)
	}
}

func crcHex(s string) string { return fmt.Sprintf("%04X", wire.CRC16([]byte(s))) }

func stripCRC(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		l = strings.TrimPrefix(l, "$")
		if j := strings.LastIndexByte(l, '*'); j >= 0 {
			l = l[:j]
		}
		out[i] = l
	}
	return out
}

// TestWatchdogResetOverTheWire runs the inversion with no protocol and
// checks what the host sees: DM for bc_dist, WX, a WDT boot with the next
// boot count, seq from 0 again, an idle board, and a black box that ends
// with the miss and the expiry.
func TestWatchdogResetOverTheWire(t *testing.T) {
	h := pathfinderHost(t, Config{Mutex: ProtoNone, Trace: 2, Seed: 7})
	h.advance(50 * ms)
	for _, c := range []wire.Command{
		{Type: wire.TypeSchedule, At: uint64(pfHoldAt / us), Fault: wire.FaultCmd{ID: 100, Kind: wire.FaultLockHold, Task: pfAsiMet, Lock: pfBus, Extra: uint64(pfHoldExtra / us)}},
		{Type: wire.TypeSchedule, At: uint64(95 * ms / us), Fault: wire.FaultCmd{ID: 101, Kind: wire.FaultLoadBurst, Priority: pfBurstPrio, Length: uint64(pfBurstLen / us)}},
		{Type: wire.TypeStart, Duration: 10e6},
	} {
		h.send(c)
	}
	h.advance(2 * time.Second)
	fs := h.frames(0)
	var lastSeq int64 = -1
	var sawDM, sawWX, boots int
	var goAt uint64
	for i := range fs {
		f := &fs[i]
		switch f.Type {
		case wire.TypeBoot:
			boots++
			bt, _ := f.Boot()
			if boots == 2 && (bt.Reason != "WDT" || bt.BootCount != 2 || bt.Uptime != 50000) {
				t.Fatalf("second boot %+v", bt)
			}
			lastSeq = -1
		case wire.TypeEvent:
			e := evOf(t, f)
			if int64(e.Seq) != lastSeq+1 {
				t.Fatalf("seq %d after %d", e.Seq, lastSeq)
			}
			lastSeq = int64(e.Seq)
			switch e.Kind {
			case wire.EvRun:
				goAt = e.Time
			case wire.EvDeadlineMiss:
				sawDM++
				if e.Task != pfDist {
					t.Errorf("DM for task %d", e.Task)
				}
			case wire.EvWatchdogExpiry:
				sawWX++
				if boots != 1 {
					t.Errorf("WX after the reset")
				}
				// The last kick was bc_sched at the start of the cycle in
				// which bc_dist was late; the reset is 200 ms after it.
				if rel := e.Time - goAt; rel < 200000 || rel > 400000 {
					t.Errorf("WX at %d µs into the run", rel)
				}
			case wire.EvFaultBegin:
				if e.Arg == 101 && e.Task != pfLoad {
					t.Errorf("burst FB task %d, want the load pseudo-task %d", e.Task, pfLoad)
				}
			}
		case wire.TypeSummary:
			s, _ := f.Summary()
			if int64(s.Seq) != lastSeq+1 {
				t.Fatalf("SM seq %d after %d", s.Seq, lastSeq)
			}
			lastSeq = int64(s.Seq)
		}
	}
	if sawDM == 0 || sawWX != 1 || boots != 2 {
		t.Fatalf("%d DM, %d WX, %d boots", sawDM, sawWX, boots)
	}
	if _, ok := h.b.NextEvent(); ok {
		t.Fatalf("board not idle after the watchdog reset")
	}
	n := len(h.lines)
	h.send(wire.Command{Type: wire.TypeDump})
	h.read()
	fs = h.frames(n)
	if len(fs) < 20 || len(fs) > blackBoxSize+1 || fs[len(fs)-1].Type != wire.TypeAck {
		t.Fatalf("DP gave %s", h.types(n))
	}
	nbx := len(fs) - 1
	for i := range nbx {
		if e := evOf(t, &fs[i]); e.Seq != uint32(i) {
			t.Fatalf("BX %d has index %d", i, e.Seq)
		}
	}
	if e := evOf(t, &fs[nbx-1]); e.Kind != wire.EvWatchdogExpiry {
		t.Fatalf("last BX %v, want WX", e.Kind)
	}
	dm := false
	for i := range nbx {
		e := evOf(t, &fs[i])
		dm = dm || e.Kind == wire.EvDeadlineMiss && e.Task == pfDist
		if e.Kind == wire.EvSwitch || e.Kind == wire.EvStart || e.Kind == wire.EvPriority {
			t.Fatalf("black box holds %v (full-trace kinds are not recorded)", e.Kind)
		}
	}
	if !dm {
		t.Fatalf("black box lacks bc_dist's miss")
	}
}

// TestDeterministic: the same profile, config and commands give the same bytes.
func TestDeterministic(t *testing.T) {
	run := func(seed uint64) []byte {
		h := pathfinderHost(t, Config{Mutex: ProtoInherit, Trace: 2, Seed: seed, Baud: 921600})
		h.advance(50 * ms)
		armHost(h, 5)
		h.send(wire.Command{Type: wire.TypeStart, Duration: 5e6})
		h.advance(6 * time.Second)
		return []byte(strings.Join(h.lines, "\n"))
	}
	a, b, c := run(1), run(1), run(2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
	if len(a) < 20000 {
		t.Fatalf("only %d bytes for 5 s at full trace", len(a))
	}
}

func armHost(h *host, seconds int) {
	for k := range seconds {
		base := time.Duration(k) * time.Second
		h.send(wire.Command{Type: wire.TypeSchedule, At: uint64((base + pfHoldAt) / us), Fault: wire.FaultCmd{ID: uint32(2 * k), Kind: wire.FaultLockHold, Task: pfAsiMet, Lock: pfBus, Extra: uint64(pfHoldExtra / us)}})
		h.send(wire.Command{Type: wire.TypeSchedule, At: uint64((base + 95*ms) / us), Fault: wire.FaultCmd{ID: uint32(2*k + 1), Kind: wire.FaultLoadBurst, Priority: pfBurstPrio, Length: uint64(pfBurstLen / us)}})
	}
}

// TestUARTPacing: at 115200 baud a frame is readable only once its last
// byte has left (10 bit-times a byte), NextEvent says when, and a full
// transmit buffer drops frames, reported by DR without seq gaps.
func TestUARTPacing(t *testing.T) {
	h := pathfinderHost(t, Config{Baud: 115200, Trace: 2, TxBuffer: 512})
	h.b.AdvanceTo(int64(50 * ms))
	h.read()
	if len(h.lines) != 0 || len(h.part) != 0 {
		t.Fatalf("bytes readable the instant the banner was queued")
	}
	next, ok := h.b.NextEvent()
	bt := wire.AppendBoot(nil, wire.Boot{Name: "pathfinder-model", Version: "1.0.0", Build: "go-ref-1", Reason: "POR", BootCount: 1, Uptime: 50000, Proto: wire.ProtoV2})
	if want := int64(50*ms) + (int64(len(bt))*10*1e9+115200-1)/115200; !ok || next != want {
		t.Fatalf("NextEvent = %d,%v; want the BT's last byte at %d", next, ok, want)
	}
	h.b.AdvanceTo(next - 1)
	h.read()
	if len(h.lines) != 0 {
		t.Fatal("frame readable before its last byte was sent")
	}
	h.b.AdvanceTo(next)
	h.read()
	if len(h.lines) != 1 || !strings.HasPrefix(h.lines[0], "$BT") {
		t.Fatalf("got %q", h.lines)
	}
	h.advance(100 * ms)
	h.send(wire.Command{Type: wire.TypeStart, Duration: 3e6})
	h.advance(4 * time.Second)
	var dropped int64
	last := int64(-1)
	for _, f := range h.frames(0) {
		if f.Type != wire.TypeEvent && f.Type != wire.TypeSummary {
			continue
		}
		var seq uint32
		if f.Type == wire.TypeEvent {
			e := evOf(t, &f)
			seq = e.Seq
			if e.Kind == wire.EvDropped {
				dropped += e.Arg
			}
		} else {
			s, _ := f.Summary()
			seq = s.Seq
		}
		if int64(seq) != last+1 {
			t.Fatalf("seq gap: %d after %d", seq, last)
		}
		last = int64(seq)
	}
	if dropped == 0 {
		t.Fatal("full trace at 115200 baud with a 512 byte buffer dropped nothing")
	}
	// Bytes sent never exceed what the line can carry.
	total := 0
	for _, l := range h.lines {
		total += len(l) + 1
	}
	if max := int(float64(h.b.Now()-int64(50*ms)) / 1e9 * 11520); total > max+200 {
		t.Fatalf("%d bytes in %v at 115200 baud (max %d)", total, time.Duration(h.b.Now()), max)
	}
}

// TestLevel1Budget: the default trace of Pathfinder fits half of 115200 baud.
func TestLevel1Budget(t *testing.T) {
	h := pathfinderHost(t, Config{Baud: 115200, Trace: 1})
	h.advance(50 * ms)
	n := 0
	for _, l := range h.lines {
		n += len(l) + 1
	}
	h.send(wire.Command{Type: wire.TypeStart, Duration: 20e6})
	h.advance(21 * time.Second)
	total := -n
	for _, l := range h.lines {
		total += len(l) + 1
		if strings.HasPrefix(l, "$EV") && strings.Contains(l, ",DR,") {
			t.Fatalf("drops at level 1: %s", l)
		}
	}
	if rate := float64(total) / 20; rate > 5760 {
		t.Fatalf("level 1 sends %.0f bytes/s, budget 5760", rate)
	} else {
		t.Logf("level 1: %.0f bytes/s", rate)
	}
}
