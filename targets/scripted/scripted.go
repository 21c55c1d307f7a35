package scripted

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Board is what a scripted target plays. Times are ns since power-on.
// firmware.Board satisfies it, and so does Script.
type Board interface {
	Now() int64
	NextEvent() (t int64, ok bool)
	AdvanceTo(t int64)
	Read(p []byte) int
	Receive(p []byte)
}

// Range is an inclusive range of sequence numbers.
type Range struct{ From, To uint32 }

// Knobs are the misbehaviours of a scripted board; the zero value is a
// faithful board. See the package documentation.
type Knobs struct {
	IgnoreFirst        bool
	IgnoreFaults       bool
	DropTask           []int
	DropLock           []int
	DropTableEnd       bool
	DropBootAfterReset bool
	DropDone           bool
	DropEvents         []Range
	ResetAfter         time.Duration
	ResetAtRun         time.Duration
	NeverBootAgain     bool
	Reason             string
	Garbage            []byte
	Console            []string
	ConsoleBeforeReset []string
	V1                 bool
	Latency            time.Duration
	StallAtRun         time.Duration
}

// Stats is what the filter did.
type Stats struct {
	Ignored       int // commands whose first copy was dropped
	FaultsIgnored int // SF/FN answered without reaching the board
	Dropped       int // frames dropped from the board's output
	Resets        int // resets the target forced
	Boots         int // banners the board sent
	PowerCycles   int // power cycles the host asked for (PowerCycle)
	// Begun counts the FB events the board sent, by fault id.
	Begun map[uint32]int
}

// Epoch is what virtual time zero looks like as a time.Time.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrIdle is returned by Read with no deadline set when the board will
// say nothing more until it is sent a command.
var ErrIdle = errors.New("scripted: board idle and no read deadline set")

// Target is a scripted board on a virtual clock (it implements
// targets.Clock, as the simulator does).
type Target struct {
	name     string
	b        Board
	k        Knobs
	deadline int64 // virtual ns; -1 for none
	closed   bool
	stats    Stats

	raw       []byte  // the board's output not yet split into lines
	out       []byte  // filtered output ready for the host (with Latency: not yet on its way)
	late      []timed // with Latency: output on its way, due at board time at
	ready     []byte  // with Latency: output that arrived, ready for the host
	rx        []byte  // host bytes not yet split into lines
	seen      map[uint32]bool
	dropped   map[string]bool // one-shot drops done: "TK1", "TE", "DN"
	bootAt    int64           // time of the latest reset (ns), -1 while booting
	bannerAt  int64           // time of the latest banner of a new boot
	bootCount uint32          // of the latest banner
	rbuf      []byte
	reset     bool   // the board has reset at least once
	dead      bool   // NeverBootAgain after a reset
	goAt      int64  // time of the first GO event, -1 before
	runDone   bool   // ResetAtRun done
	stallDone bool   // StallAtRun's hold released
	resetID   uint32 // id of the RS the target sent; its AK is swallowed
	f         wire.Frame
}

// New returns a target playing b with the knobs k.
func New(name string, b Board, k Knobs) *Target {
	t := &Target{name: name, b: b, k: k, deadline: -1, seen: map[uint32]bool{}, dropped: map[string]bool{}, goAt: -1, bootAt: -1}
	return t
}

// Stats returns what the filter did so far.
func (t *Target) Stats() Stats { return t.stats }

// Name implements targets.Target.
func (t *Target) Name() string { return t.name }

// Now implements targets.Clock: the board's virtual time.
func (t *Target) Now() time.Time { return Epoch.Add(time.Duration(t.b.Now())) }

// SetReadDeadline implements targets.Target, in virtual time.
func (t *Target) SetReadDeadline(d time.Time) error {
	if d.IsZero() {
		t.deadline = -1
	} else {
		t.deadline = max(int64(d.Sub(Epoch)), 0)
	}
	return nil
}

// Close implements targets.Target.
func (t *Target) Close() error {
	t.closed = true
	return nil
}

// forcedAt is when the target next resets the board, or -1.
func (t *Target) forcedAt() int64 {
	at := int64(-1)
	if t.dead || t.bootAt < 0 {
		return at
	}
	if t.k.ResetAfter > 0 {
		at = max(t.bootAt+int64(t.k.ResetAfter), t.bannerAt)
	}
	if t.k.ResetAtRun > 0 && t.goAt >= 0 && !t.runDone {
		if r := t.goAt + int64(t.k.ResetAtRun); at < 0 || r < at {
			at = r
		}
	}
	return at
}

// forceReset resets the board now: console lines first, then RS.
func (t *Target) forceReset() {
	if t.goAt >= 0 && t.k.ResetAtRun > 0 && t.b.Now() >= t.goAt+int64(t.k.ResetAtRun) {
		t.runDone = true
	}
	for _, l := range t.k.ConsoleBeforeReset {
		t.out = append(append(t.out, l...), '\n')
	}
	t.stats.Resets++
	t.resetID = 0xFFFFFFF0 - uint32(t.stats.Resets)
	t.bootAt = -1 // until the next banner
	t.b.Receive(wire.AppendCommand(nil, wire.Command{Type: wire.TypeReset, ID: t.resetID}))
}

// Read runs the board until filtered output is ready; it returns an error
// wrapping os.ErrDeadlineExceeded when the deadline passes first.
func (t *Target) Read(p []byte) (int, error) {
	if t.closed {
		return 0, os.ErrClosed
	}
	for {
		if t.k.Latency > 0 {
			if n := t.arrived(p); n > 0 {
				return n, nil
			}
		} else if len(t.out) > 0 && !t.holding() {
			n := copy(p, t.out)
			t.out = t.out[n:]
			return n, nil
		}
		if t.rbuf == nil {
			t.rbuf = make([]byte, 4096)
		}
		if n := t.b.Read(t.rbuf); n > 0 {
			t.filter(t.rbuf[:n])
			continue
		}
		next, ok := t.b.NextEvent()
		if len(t.late) > 0 && (!ok || t.late[0].at < next) {
			next, ok = t.late[0].at, true
		}
		if f := t.forcedAt(); f >= 0 && (!ok || f <= next) {
			if f < t.b.Now() {
				f = t.b.Now()
			}
			if t.deadline >= 0 && f > t.deadline {
				t.b.AdvanceTo(t.deadline)
				return 0, os.ErrDeadlineExceeded
			}
			t.b.AdvanceTo(f)
			t.forceReset()
			continue
		}
		if !ok || (t.deadline >= 0 && next > t.deadline) {
			if t.deadline < 0 {
				return 0, ErrIdle
			}
			if t.deadline > t.b.Now() {
				t.b.AdvanceTo(t.deadline)
			}
			return 0, os.ErrDeadlineExceeded
		}
		t.b.AdvanceTo(next)
	}
}

// holding reports whether the port sits on the board's output
// (StallAtRun) until the host writes.
func (t *Target) holding() bool {
	return t.k.StallAtRun > 0 && !t.stallDone && t.goAt >= 0 && t.b.Now() >= t.goAt+int64(t.k.StallAtRun)
}

// arrived puts the output the board sent Latency ago or earlier into p.
// What the board sent since the last call starts on its way now.
func (t *Target) arrived(p []byte) int {
	now := t.b.Now()
	if len(t.out) > 0 {
		t.late = append(t.late, timed{at: now + int64(t.k.Latency), data: append([]byte(nil), t.out...)})
		t.out = t.out[:0]
	}
	for len(t.late) > 0 && t.late[0].at <= now {
		t.ready = append(t.ready, t.late[0].data...)
		t.late = t.late[1:]
	}
	n := copy(p, t.ready)
	t.ready = t.ready[n:]
	return n
}

// filter splits the board's output into lines and passes on what the
// knobs let through.
func (t *Target) filter(p []byte) { eachLine(&t.raw, p, t.line) }

// eachLine appends p to *pending and calls fn with every whole line in it
// (ending in '\n'), keeping the unfinished rest in *pending.
func eachLine(pending *[]byte, p []byte, fn func(line []byte)) {
	*pending = append(*pending, p...)
	for {
		i := bytes.IndexByte(*pending, '\n')
		if i < 0 {
			return
		}
		line := (*pending)[:i+1]
		*pending = (*pending)[i+1:]
		fn(line)
	}
}

func (t *Target) drop() { t.stats.Dropped++ }

// once reports whether the one-shot drop key is still to be done, and
// marks it done.
func (t *Target) once(key string) bool {
	if t.dropped[key] {
		return false
	}
	t.dropped[key] = true
	return true
}

func (t *Target) line(line []byte) {
	if t.dead {
		t.drop()
		return
	}
	body := bytes.TrimRight(line, "\r\n")
	if wire.ParseFrame(body, &t.f) != nil {
		t.out = append(t.out, line...)
		return
	}
	switch t.f.Type {
	case wire.TypeBoot:
		t.stats.Boots++
		b, _ := t.f.Boot()
		newBoot := b.BootCount != t.bootCount
		if newBoot && t.bootCount != 0 && t.k.NeverBootAgain {
			t.dead = true
			t.drop()
			return
		}
		t.bootCount = b.BootCount
		if newBoot {
			t.bannerAt = t.b.Now()
			// Uptime counts from the reset, before the banner.
			t.bootAt = t.b.Now() - int64(b.Uptime)*1000
			if t.stats.Boots > 1 {
				t.reset = true
			}
		}
		if newBoot && t.reset && t.k.DropBootAfterReset {
			t.drop()
			return
		}
		if t.stats.Boots == 1 && len(t.k.Garbage) > 0 {
			t.out = append(t.out, t.k.Garbage...)
		}
		if t.k.V1 {
			b.Proto = 0
		}
		if t.reset && t.k.Reason != "" && b.BootCount > 1 {
			b.Reason = t.k.Reason
		}
		t.out = wire.AppendBoot(t.out, b)
		if t.stats.Boots == 1 {
			for _, l := range t.k.Console {
				t.out = append(append(t.out, l...), '\n')
			}
		}
		return
	case wire.TypeTask:
		if tk, err := t.f.Task(); err == nil && contains(t.k.DropTask, tk.Index) && t.once(fmt.Sprint("TK", tk.Index)) {
			t.drop()
			return
		}
	case wire.TypeLock:
		if lk, err := t.f.Lock(); err == nil && contains(t.k.DropLock, lk.Index) && t.once(fmt.Sprint("LK", lk.Index)) {
			t.drop()
			return
		}
	case wire.TypeTableEnd:
		if t.k.DropTableEnd && t.once("TE") {
			t.drop()
			return
		}
	case wire.TypeDone:
		if t.k.DropDone && t.once("DN") {
			t.drop()
			return
		}
	case wire.TypeAck, wire.TypeNak:
		if id, err := t.f.Ack(); err == nil && id == t.resetID && id != 0 {
			return // the target's own RS
		}
		if t.f.Type == wire.TypeNak {
			if id, _, err := t.f.Nak(); err == nil && id == t.resetID && id != 0 {
				return
			}
		}
	case wire.TypeEvent:
		ev, err := t.f.Event()
		if err == nil && ev.Kind == wire.EvRun && t.goAt < 0 {
			t.goAt = t.b.Now()
		}
		if err == nil && ev.Kind == wire.EvFaultBegin {
			if t.stats.Begun == nil {
				t.stats.Begun = map[uint32]int{}
			}
			t.stats.Begun[uint32(ev.Arg)]++
		}
		if err == nil {
			for _, r := range t.k.DropEvents {
				if ev.Seq >= r.From && ev.Seq <= r.To {
					t.drop()
					return
				}
			}
		}
	}
	t.out = append(t.out, line...)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Write takes host bytes: whole command lines go through the knobs to the
// board.
func (t *Target) Write(p []byte) (int, error) {
	if t.closed {
		return 0, os.ErrClosed
	}
	if t.holding() {
		t.stallDone = true // the host's bytes wake the port
	}
	eachLine(&t.rx, p, func(line []byte) { t.command(append([]byte(nil), line...)) })
	return len(p), nil
}

func (t *Target) command(line []byte) {
	if t.dead {
		return
	}
	var f wire.Frame
	if wire.ParseFrame(bytes.TrimRight(line, "\r\n"), &f) != nil || !wire.IsCommand(f.Type) {
		t.b.Receive(line)
		return
	}
	c, err := f.Command()
	if err != nil {
		t.b.Receive(line)
		return
	}
	if t.k.IgnoreFirst && !t.seen[c.ID] {
		t.seen[c.ID] = true
		t.stats.Ignored++
		return
	}
	if t.k.V1 && c.Type == wire.TypeIdentify {
		return // a v1 board does not know ID
	}
	if t.k.IgnoreFaults && (c.Type == wire.TypeSchedule || c.Type == wire.TypeFire) {
		t.stats.FaultsIgnored++
		t.out = wire.AppendAck(t.out, c.ID)
		return
	}
	t.b.Receive(line)
}

func init() { targets.Register("scripted", open) }

// open makes a scripted target from a URL: the host names a built-in
// profile of the reference model, the query the knobs.
func open(u *url.URL, opt targets.Options) (targets.Target, error) {
	bad := func(format string, a ...any) (targets.Target, error) {
		return nil, &targets.URLError{URL: u.String(), Reason: fmt.Sprintf(format, a...)}
	}
	p, err := firmware.Lookup(u.Host)
	if err != nil {
		return bad("profile %q: %v", u.Host, err)
	}
	cfg := firmware.Config{Seed: opt.Seed, Trace: opt.Trace}
	var k Knobs
	q := u.Query()
	for key, vs := range q {
		v := vs[0]
		flag := v == "1" || v == "true"
		switch key {
		case "mutex":
			if cfg.Mutex, err = firmware.ParseProtocol(v); err != nil {
				return bad("mutex: %v", err)
			}
		case "ignore_first":
			k.IgnoreFirst = flag
		case "ignore_faults":
			k.IgnoreFaults = flag
		case "drop_task":
			n, err := strconv.Atoi(v)
			if err != nil {
				return bad("drop_task %q: want a task index", v)
			}
			k.DropTask = append(k.DropTask, n)
		case "drop_te":
			k.DropTableEnd = flag
		case "drop_bt_after_reset":
			k.DropBootAfterReset = flag
		case "drop_dn":
			k.DropDone = flag
		case "reset_after", "reset_at_run", "stall_at_run":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return bad("%s %q: want a positive duration", key, v)
			}
			switch key {
			case "reset_after":
				k.ResetAfter = d
			case "reset_at_run":
				k.ResetAtRun = d
			default:
				k.StallAtRun = d
			}
		case "never_boot_again":
			k.NeverBootAgain = flag
		case "reason":
			k.Reason = v
		case "console":
			k.Console = strings.Split(v, "|")
		case "console_before_reset":
			k.ConsoleBeforeReset = strings.Split(v, "|")
		case "v1":
			k.V1 = flag
		default:
			return bad("unknown parameter %q", key)
		}
	}
	b, err := firmware.NewBoard(p, cfg)
	if err != nil {
		return bad("%v", err)
	}
	return New(u.String(), b, k), nil
}
