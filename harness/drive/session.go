package drive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// errTimeout is a read deadline that passed.
var errTimeout = errors.New("timeout")

// errReset interrupts a wait for an answer: the board rebooted meanwhile,
// so what was asked is gone with its RAM.
var errReset = errors.New("the board reset")

// maxTableAsks bounds the ID commands sent for one boot's table.
const maxTableAsks = 20

// gapper is the analyzer's way to end every span open across a loss
// (harness/analyze: Gap). An analyzer without it joins spans as before.
type gapper interface{ Gap(t int64) }

// session drives one target through one run.
type session struct {
	t     targets.Target
	clk   targets.Clock
	r     *wire.Reader
	cfg   *Config
	to    Timeouts
	trace int
	ids   *IDs
	an    *analyze.Analyzer
	gap   gapper // nil when the analyzer cannot take gaps
	obs   *Observation
	start time.Time
	wbuf  []byte

	// commands: pend holds the commands not answered yet; answers the
	// answers not collected yet ("" AK, else the NK reason).
	pend      map[uint32]*pending
	resendAt  time.Time // when the oldest pending command is due again
	dirty     bool      // pend changed: resendAt is to be recomputed
	resendOK  bool      // pend was not empty when resendAt was computed
	resendIDs []uint32  // resend's list of pending ids, kept for its memory
	answers   map[uint32]string
	deadline  time.Time
	retry     time.Duration

	// boot and table
	booted       bool // a banner was seen (or inferred) for the board's current boot
	haveBoot     bool // boot holds a banner
	boot         wire.Boot
	tableDone    bool
	tasks        map[int]wire.TaskInfo // this boot's table being collected, by index
	locks        map[int]wire.LockInfo
	teTasks      int // counts TE announced; -1 before TE
	teLocks      int
	asks         int       // ID commands sent for this boot's table
	nextAsk      time.Time // when to ask again
	bootTimedOut bool      // the last awaitBoot ended in its timeout without a valid frame (the link answered reads)
	askedAt      time.Time // when ID was last sent
	unknown      bool      // the last reset was counted unknown, waiting for its banner
	rsIDs        []uint32  // RS commands the next banner answers
	// stale: SF, FN or GO commands were unanswered when the board was
	// seen to reboot. A copy of one (first send or resend) may have
	// reached the new boot, which has forgotten the id and carries it
	// out: it must be stopped (SP) before the board is configured again
	// (PROTOCOL.md 2.2).
	stale bool
	// goSent: this host sent GO in the board's current boot. A GO event
	// without it is a run a stale GO copy started, not the host's.
	goSent    bool
	busyStops int // SP sent because CF was refused busy
	// copies: SF, FN and GO commands answered while more copies of them
	// were out (resends), by id: how many answers to the extra copies
	// are still to come. An extra copy not answered by the old boot may
	// have reached the new one.
	copies     map[uint32]int
	copiesLost bool // copies was full: the next reboot is stale anyway

	// run state
	running              bool
	done                 bool
	configured           bool
	everGo               bool
	base                 int64 // run time at the segment's origin
	origin               int64 // board time (µs since boot) of the segment's origin
	prevBase, prevOrigin int64 // the same for the segment before the last reset
	bootHost             float64
	prevBootHost         float64 // host µs at board time 0 of the boot before the last reset
	haveBootHost         bool
	havePrevHost         bool
	box                  []wire.Event // BX frames being collected
	lastRun              int64        // run time of the latest event
	haveSeq              bool
	lastSeq              uint32
	resetNew             bool   // a reset happened since the last arm
	lastReset            string // kind of the latest reset
	segEnd               int64  // run time the current GO ends at
	goPending            bool   // GO was answered, its GO event not seen yet
	goAckHost            float64
	goDur                int64
	lastEvHost           float64 // host receive time of the latest event
	hostAt               float64 // chunkHostUS's hostUS, at hostBytes read
	hostBytes            uint64
	hostOK               bool
	probe                uint32 // id of the PG asking whether the run ended, 0 if none

	// console: a ring of the last lines
	console     [MaxConsoleKept]ConsoleLine
	conN, conAt int

	// fault queue: faults in run time, uploaded up to qNext, due up to qFired
	queue         []queued // a window of the run's firings, from src as needed
	src           Source
	srcDone       bool
	qNext, qFired int
	stopAt        int64 // run time at which the host sends SP; -1: the board ends the run
	segStart      int64 // plan time of the segment start
	shift         int64 // plan time minus run time in this segment
	consumed      int   // faults uploaded before the last reset
	whole         bool  // a deterministic target: the segment's whole plan before GO (run.go)
	planEnd       int64 // plan time of the segment's end
	refused       error
	malformed     uint64 // frames the reader passed that did not decode

	// idle: refill has nothing to do while lastRun+shift <= idleUpTo, as
	// long as qFired, qNext and shift are still idleFired, idleNext and
	// idleShift (run.go: noteIdle, idleNow). Worked out by refill; the
	// run loop then skips it: most events find nothing due.
	idle                bool
	idleFired, idleNext int
	idleShift, idleUpTo int64

	stamp *stampReader
	host  *hostClock // receive times; nil when the target owns time (sim)
	// virt is the target's clock in ns when it offers it as a number (the
	// sim: virtual time), virt0 its reading at start: hostUS asks it for
	// every event, and time.Time arithmetic would cost more than the rest
	// of the event's bookkeeping. (The interface, not a method value: that
	// would add a closure's call to every event.)
	virt  virtualClock
	virt0 int64

	power powerState // power cycles the host carries out (power.go)

	// tick reports progress on a real-time board (progress.go).
	tick     func(Progress)
	lastTick int64
}

// pending is a command sent and not answered yet.
type pending struct {
	frame   []byte
	typ     wire.Type
	what    string
	first   time.Time
	sent    time.Time
	sends   int    // copies sent
	async   bool   // sent during the run: its NK ends the run
	frames  uint64 // frames the Reader had returned when it was first sent
	dropped uint64 // frames the board had reported dropped then
}

func newSession(t targets.Target, cfg *Config) *session {
	raw := cfg.Raw
	var src io.Reader = t
	clk := targets.ClockOf(t)
	var stamp *stampReader
	if _, owns := t.(targets.Clock); !owns {
		stamp = &stampReader{r: t, clk: clk}
		src = stamp
	}
	if raw != nil {
		src = newTee(src, raw)
	}
	ids := cfg.IDs
	if ids == nil {
		ids = &IDs{}
	}
	to := cfg.Timeouts
	retry := to.Retry
	if retry <= 0 {
		retry = max(to.Boot/10, 50*time.Millisecond)
	}
	s := &session{t: t, clk: clk, r: wire.NewReader(src), cfg: cfg, to: to, trace: cfg.Trace, ids: ids,
		an: analyze.New(), pend: map[uint32]*pending{}, answers: map[uint32]string{}, retry: retry, copies: map[uint32]int{},
		tasks: map[int]wire.TaskInfo{}, locks: map[int]wire.LockInfo{}, teTasks: -1}
	s.r.ReportConsole(true)
	s.an.SetLevel(cfg.Trace)
	if g, ok := any(s.an).(gapper); ok {
		s.gap = g
	}
	s.obs = &Observation{Analyzer: s.an, ResetKinds: map[string]int{}}
	if bc, ok := t.(targets.BoardClock); ok {
		s.power.exact = bc
	}
	s.start = s.clk.Now()
	if v, ok := s.clk.(virtualClock); ok {
		s.virt = v
		s.virt0 = v.VirtualNS()
	}
	if stamp != nil {
		stamp.start = s.start
		s.stamp = stamp
		s.host = newHostClock(stamp)
	}
	return s
}

func (s *session) infra(format string, a ...any) error {
	return &InfraError{Target: s.t.Name(), Err: fmt.Errorf(format+": %w", append(a, targets.ErrUnreachable)...)}
}

// hostUS is the host's receive time of the latest chunk, µs since connect
// (the target's clock: virtual on the sim).
func (s *session) hostUS() float64 {
	if s.stamp != nil {
		return s.stamp.atUS
	}
	if s.virt != nil {
		return float64(s.virt.VirtualNS()-s.virt0) / 1e3
	}
	return float64(s.clk.Now().Sub(s.start)) / 1e3
}

// chunkHostUS is hostUS for a frame just returned by the Reader. A
// stamped link's receive time and the simulator's virtual time change
// only when the Reader reads, so it is computed once per read there.
func (s *session) chunkHostUS() float64 {
	if s.stamp == nil && s.virt == nil {
		return s.hostUS()
	}
	if n := s.r.BytesRead(); n != s.hostBytes || !s.hostOK {
		s.hostBytes, s.hostOK, s.hostAt = n, true, s.hostUS()
	}
	return s.hostAt
}

// virtualClock is a targets.Clock that also tells its time as ns since
// its own epoch: Now() is that epoch plus VirtualNS().
type virtualClock interface{ VirtualNS() int64 }

// next reads one frame, failing with errTimeout once the deadline passes.
// Commands due for a resend are sent meanwhile.
func (s *session) next(deadline time.Time) (*wire.Frame, error) {
	for {
		d := deadline
		if due, ok := s.nextResend(); ok && due.Before(d) {
			d = due
		}
		if d != s.deadline && !d.Equal(s.deadline) { // == first: the same deadline nearly every time
			if err := s.t.SetReadDeadline(d); err != nil {
				return nil, s.infra("set read deadline: %v", err)
			}
			s.deadline = d
		}
		f, err := s.r.Next()
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, s.infra("read: %v", err)
		}
		if d.Equal(deadline) {
			return nil, errTimeout
		}
		if err := s.resend(); err != nil {
			return nil, err
		}
	}
}

// pump dispatches frames until done reports true or deadline passes.
func (s *session) pump(ctx context.Context, deadline time.Time, done func() bool) error {
	for !done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := s.next(deadline)
		if err != nil {
			return err
		}
		s.dispatch(f)
	}
	return nil
}

func (s *session) send(b []byte) error {
	if _, err := s.t.Write(b); err != nil {
		return s.infra("write: %v", err)
	}
	return nil
}

// command sends a command with a fresh id and keeps it pending: it is
// sent again, same id, until answered (PROTOCOL.md 2.2).
func (s *session) command(c wire.Command, what string) (uint32, error) {
	c.ID = s.ids.Next()
	frame := wire.AppendCommand(nil, c)
	now := s.clk.Now()
	s.pend[c.ID] = &pending{frame: frame, typ: c.Type, what: what, first: now, sent: now, sends: 1,
		frames: s.r.Stats().Frames, dropped: s.obs.Telemetry.Dropped}
	s.dirty = true
	return c.ID, s.send(frame)
}

// risky reports whether a command of type t, carried out by a board that
// rebooted since the host sent it, changes what the board does next: a
// fault scheduled or fired, a run started.
func risky(t wire.Type) bool {
	return t == wire.TypeSchedule || t == wire.TypeFire || t == wire.TypeStart
}

// maxCopies bounds the ids kept in copies; past it (answers lost on a
// noisy line) the next reboot is taken as stale anyway.
const maxCopies = 256

// nextResend is when the oldest pending command is due again. It is
// asked before every read, so it is computed only when pend changed
// (whether pend is empty too: every change to it sets dirty).
func (s *session) nextResend() (time.Time, bool) {
	if s.dirty {
		s.dirty = false
		s.resendOK = len(s.pend) > 0
		first := true
		for _, p := range s.pend {
			if t := p.sent.Add(s.retry); first || t.Before(s.resendAt) {
				s.resendAt, first = t, false
			}
		}
	}
	if !s.resendOK {
		return time.Time{}, false
	}
	return s.resendAt, true
}

// resend sends again every pending command whose retry interval passed,
// and fails once one has gone unanswered for the command timeout.
func (s *session) resend() error {
	now := s.clk.Now()
	s.dirty = true
	// In the order they were first sent (ids break ties): a map's order
	// changes from run to run, and what the board answers first and
	// which command gives up first must not, or a simulated run on a
	// lossy line would not repeat.
	ids := s.resendIDs[:0]
	for id := range s.pend {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint32) int {
		if c := s.pend[a].first.Compare(s.pend[b].first); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	s.resendIDs = ids
	for _, id := range ids {
		p := s.pend[id]
		if now.Sub(p.sent) < s.retry {
			continue
		}
		if now.Sub(p.first) >= s.to.Boot {
			delete(s.pend, id)
			s.dirty = true
			sends := 1 + int(now.Sub(p.first)/s.retry)
			if got, lost := s.r.Stats().Frames-p.frames, s.obs.Telemetry.Dropped-p.dropped; got > 0 && lost > 0 {
				// The board is there and talking; its answers are lost
				// with the frames it drops for want of room on the line.
				return s.infra("no answer to %s (id %d) within %v, sent %d times, while the board sent %d frames and dropped %d: "+
					"with its transmit buffer full its answers are likely dropped too; the line may be too slow for the trace level (try a faster baud rate or a lower trace level)",
					p.what, id, s.to.Boot, sends, got, lost)
			}
			return s.infra("no answer to %s (id %d) within %v, sent %d times", p.what, id, s.to.Boot, sends)
		}
		p.sent = now
		p.sends++
		s.dirty = true
		s.obs.Telemetry.Retries++
		if err := s.send(p.frame); err != nil {
			return err
		}
	}
	return nil
}

// answered records the board's answer to id; repeats of an answer (the
// board answers every copy it got) are ignored.
func (s *session) answered(id uint32, reason string) {
	p, ok := s.pend[id]
	if !ok {
		if n, ok := s.copies[id]; ok {
			if n <= 1 {
				delete(s.copies, id)
			} else {
				s.copies[id] = n - 1
			}
		}
		return
	}
	delete(s.pend, id)
	s.dirty = true
	if p.sends > 1 && risky(p.typ) {
		if len(s.copies) < maxCopies {
			s.copies[id] = p.sends - 1
		} else {
			s.copiesLost = true
		}
	}
	if id == s.probe {
		s.probe = 0
		if !s.done && s.running && s.lastRun >= s.segEnd {
			// No DN came back before the AK: a v1 board, or one that
			// forgot. The run's board time has passed: it is over.
			s.running, s.done = false, true
		}
		return
	}
	if p.async {
		if reason != "" {
			s.refused = &RefusedError{Target: s.t.Name(), Command: p.what, Reason: reason}
		}
		return
	}
	s.answers[id] = reason
}

// await waits for the answers to ids, resending as needed. It returns
// errReset when the board rebooted meanwhile.
func (s *session) await(ctx context.Context, what string, ids ...uint32) error {
	resets := s.obs.ResetCount
	err := s.pump(ctx, s.clk.Now().Add(s.to.Boot+s.retry), func() bool {
		if s.obs.ResetCount != resets {
			return true
		}
		for _, id := range ids {
			if _, ok := s.answers[id]; !ok {
				return false
			}
		}
		return true
	})
	if errors.Is(err, errTimeout) {
		return s.infra("no answer to %s within %v", what, s.to.Boot)
	}
	if err != nil {
		return err
	}
	if s.obs.ResetCount != resets {
		for _, id := range ids {
			delete(s.answers, id)
		}
		return errReset
	}
	for _, id := range ids {
		reason := s.answers[id]
		delete(s.answers, id)
		if reason != "" {
			return &RefusedError{Target: s.t.Name(), Command: what, Reason: reason}
		}
	}
	return nil
}

// request sends one command and waits for its answer.
func (s *session) request(ctx context.Context, c wire.Command, what string) error {
	id, err := s.command(c, what)
	if err != nil {
		return err
	}
	return s.await(ctx, what, id)
}

// ready reports whether the board's banner and complete table are known.
func (s *session) ready() bool { return s.booted && s.tableDone }

// awaitBoot waits for a banner and the complete table of the current
// boot. Parts lost on the line are asked for again with ID (v2). When
// nothing at all comes within the boot timeout it asks for a software
// reset once, if mayReset.
func (s *session) awaitBoot(ctx context.Context, mayReset bool) error {
	deadline := s.clk.Now().Add(s.to.Boot)
	frames := s.r.Stats().Frames
	for !s.ready() {
		now := s.clk.Now()
		if !now.Before(deadline) {
			if mayReset && s.r.Stats().Frames == frames && len(s.rsIDs) == 0 {
				// Not a frame: the board may sit in a state only a reset ends.
				id, err := s.command(wire.Command{Type: wire.TypeReset}, "RS")
				if err != nil {
					return err
				}
				s.rsIDs = append(s.rsIDs, id)
				deadline = now.Add(s.to.Boot)
				mayReset = false
				continue
			}
			// Silence (not one valid frame) is a board that did not come
			// back; frames that never made a whole table are the link.
			return s.bootTimeout(s.r.Stats().Frames == frames)
		}
		if s.nextAsk.IsZero() {
			s.nextAsk = now.Add(s.retry)
		}
		if !now.Before(s.nextAsk) {
			if err := s.askTable(); err != nil {
				return err
			}
		}
		wait := deadline
		if s.nextAsk.Before(wait) {
			wait = s.nextAsk
		}
		err := s.pump(ctx, wait, func() bool { return s.ready() || s.power.failed != nil })
		if s.power.failed != nil {
			return s.power.failed
		}
		if err != nil && !errors.Is(err, errTimeout) {
			return err
		}
	}
	s.nextAsk = time.Time{}
	return nil
}

func (s *session) bootTimeout(silent bool) error {
	s.bootTimedOut = silent
	switch {
	case !s.booted:
		return s.infra("no BOOT banner and task table within %v", s.to.Boot)
	case s.teTasks < 0:
		return s.infra("no complete task table within %v: TE never arrived (%d TK and %d LK frames received, %d ID requests)",
			s.to.Boot, len(s.tasks), len(s.locks), s.asks)
	default:
		return s.infra("no complete task table within %v: TE announced %d tasks and %d locks, received %d TK and %d LK frames (%d ID requests)",
			s.to.Boot, s.teTasks, s.teLocks, len(s.tasks), len(s.locks), s.asks)
	}
}

// askTable sends ID so the board sends its banner and table again; a v1
// board ignores it (or refuses it), which costs nothing.
func (s *session) askTable() error {
	s.nextAsk = s.clk.Now().Add(s.retry)
	if s.asks >= maxTableAsks {
		return nil
	}
	s.asks++
	s.askedAt = s.clk.Now()
	s.obs.Telemetry.Reasks++
	id := s.ids.Next()
	// Not kept pending: the table itself is the answer, and a lost AK
	// is no reason to resend; the next ask uses a new id.
	return s.send(wire.AppendCommand(nil, wire.Command{Type: wire.TypeIdentify, ID: id}))
}

// dispatch updates the session with one frame. It is the hot path.
func (s *session) dispatch(f *wire.Frame) {
	switch f.Type {
	case wire.TypeEvent:
		ev, err := f.Event()
		if err != nil {
			s.malformed++
			return
		}
		if s.host != nil {
			s.host.frame(ev.Time)
		}
		s.event(&ev)
	case wire.TypeConsole:
		s.consoleLine(f.Line)
	case wire.TypeBoot:
		b, err := f.Boot()
		if err != nil {
			s.malformed++
			return
		}
		s.bootSeen(b)
	case wire.TypeTask:
		t, err := f.Task()
		if err != nil {
			s.malformed++
			return
		}
		s.tableFrame()
		s.tasks[t.Index] = t
	case wire.TypeLock:
		l, err := f.Lock()
		if err != nil {
			s.malformed++
			return
		}
		s.tableFrame()
		s.locks[l.Index] = l
	case wire.TypeTableEnd:
		nt, nl, err := f.TableEnd()
		if err != nil {
			s.malformed++
			return
		}
		s.tableFrame()
		s.teTasks, s.teLocks = nt, nl
		s.checkTable()
	case wire.TypeSummary:
		sm, err := f.Summary()
		if err != nil {
			s.malformed++
			return
		}
		s.sequence(sm.Seq)
		if s.running {
			s.lastRun = max(s.lastRun, s.base+int64(sm.Time)-s.origin)
		}
		// Summaries stand in for EN events only at trace level 0; those
		// of a run a stale GO copy started are not the host's run.
		if s.trace == 0 && s.goSent {
			s.an.Summary(&sm)
		}
	case wire.TypeAck:
		if id, err := f.Ack(); err == nil {
			s.answered(id, "")
		}
	case wire.TypeNak:
		if id, reason, err := f.Nak(); err == nil {
			if reason == "" {
				reason = "no reason given"
			}
			s.answered(id, reason)
		}
	case wire.TypeBlackBox:
		if ev, err := f.Event(); err == nil {
			s.box = append(s.box, ev)
		}
	case wire.TypeDone:
		seq, t, err := f.Done()
		if err != nil {
			s.malformed++
			return
		}
		if s.running {
			// DN's seq is the next number: frames lost just before it
			// are a gap too.
			if s.haveSeq && seq > s.lastSeq+1 {
				s.lost(seq - s.lastSeq - 1)
			}
			s.lastRun = max(s.lastRun, s.base+int64(t)-s.origin)
			s.an.Done(s.base + int64(t) - s.origin) // the board says how far the run got
			s.running, s.done = false, true
		}
	case wire.TypeCrash:
		if c, err := f.Crash(); err != nil {
			s.malformed++
		} else if len(s.obs.Crashes) < MaxCrashes {
			s.obs.Crashes = append(s.obs.Crashes, Crash{AtUS: s.lastRun, Crash: c})
		}
	}
}

// tableFrame notes a TK, LK or TE frame. One that comes while the table is
// complete is an answer to ID, or the table of a boot whose banner was
// lost. The banner tells: it is asked for, and a new boot count is a
// reboot (bootSeen), the same one is nothing.
func (s *session) tableFrame() {
	if !s.tableDone || s.boot.Proto < wire.ProtoV2 {
		return
	}
	if s.whole && s.goSent {
		// A deterministic target's link loses no banner, and an ID during
		// the run would make it unrepeatable: this is the table of an ID
		// sent before GO (steadyClock), read late.
		return
	}
	if now := s.clk.Now(); now.Sub(s.askedAt) >= s.retry {
		s.askTable() //nolint:errcheck // a write error shows at the next command
	}
}

// checkTable completes the table when TE's counts agree with what arrived.
func (s *session) checkTable() {
	if s.teTasks < 0 || len(s.tasks) != s.teTasks || len(s.locks) != s.teLocks {
		return
	}
	tbl := wire.Table{Tasks: make([]wire.TaskInfo, s.teTasks), Locks: make([]wire.LockInfo, s.teLocks)}
	for i := range s.teTasks {
		t, ok := s.tasks[i]
		if !ok {
			return
		}
		tbl.Tasks[i] = t
	}
	for i := range s.teLocks {
		l, ok := s.locks[i]
		if !ok {
			return
		}
		tbl.Locks[i] = l
	}
	if !s.tableDone {
		s.obs.Table = tbl
		s.an.SetTable(&s.obs.Table)
	}
	s.tableDone = true
	s.asks = 0
}

// consoleLine keeps one console line in the ring.
func (s *session) consoleLine(text []byte) {
	s.obs.Telemetry.Console++
	s.console[s.conAt] = ConsoleLine{AtUS: s.lastRun, HostUS: int64(s.hostUS()), Text: string(text)}
	s.conAt = (s.conAt + 1) % MaxConsoleKept
	s.conN = min(s.conN+1, MaxConsoleKept)
}

// consoleTail returns the ring's lines, oldest first.
func (s *session) consoleTail() []ConsoleLine {
	if s.conN == 0 {
		return nil
	}
	out := make([]ConsoleLine, 0, s.conN)
	for i := range s.conN {
		out = append(out, s.console[(s.conAt-s.conN+i+MaxConsoleKept)%MaxConsoleKept])
	}
	return out
}

// lost counts n numbered frames missing and ends the spans open across
// the gap.
func (s *session) lost(n uint32) {
	s.obs.Telemetry.Lost += uint64(n)
	s.obs.Telemetry.Gaps++
	if !s.running {
		return
	}
	if s.gap != nil {
		s.gap.Gap(s.lastRun)
	}
	if s.cfg.onGap != nil {
		s.cfg.onGap(s.lastRun)
	}
}

// sequence checks the shared EV/SM sequence number: a gap is lost
// telemetry, a step back is a reboot whose banner never arrived.
func (s *session) sequence(seq uint32) {
	if s.haveSeq && seq != s.lastSeq+1 {
		if seq <= s.lastSeq {
			v1 := s.boot.Proto < wire.ProtoV2
			s.newBoot()
			s.resetSeen(ResetUnknown, "", 0)
			s.unknown = !v1
			// A v2 board is asked for the banner and table; a v1 board's
			// table is taken as unchanged.
			s.booted, s.tableDone = v1, v1
		} else {
			s.lost(seq - s.lastSeq - 1)
		}
	}
	s.haveSeq, s.lastSeq = true, seq
}

func (s *session) event(ev *wire.Event) {
	s.sequence(ev.Seq)
	if !s.haveBootHost {
		s.bootHost, s.haveBootHost = s.hostUS()-float64(ev.Time), true
	}
	switch {
	case ev.Kind == wire.EvRun && !s.goSent:
		// A run the host did not start in this boot: a GO copy sent
		// before the host saw the reboot (newBoot). Its events are not
		// the run's; the run loop stops it.
		s.stale = true
		return
	case ev.Kind == wire.EvRun:
		s.goPending = false
		s.startRun(int64(ev.Time), ev.Arg)
	case s.goPending:
		// The GO event was lost on the line (the events after it come):
		// the run started when the board answered GO, which the host
		// clock dates to within the link's latency.
		s.goPending = false
		at := int64(ev.Time)
		if s.haveBootHost {
			at = min(at, max(0, int64(s.goAckHost-s.bootHost)))
		}
		s.startRun(at, s.goDur)
		// The analysis learns of the start as if the GO event had come
		// (the faults uploaded before it are due relative to it).
		s.an.Event(s.base+at-s.origin, &wire.Event{Seq: ev.Seq, Time: uint64(at), Kind: wire.EvRun, Task: wire.NoTask, Arg: s.goDur})
	}
	if !s.running {
		return
	}
	t := s.base + int64(ev.Time) - s.origin
	s.lastRun = t
	s.lastEvHost = s.chunkHostUS()
	s.progress(false)
	if ev.Kind == wire.EvDropped {
		s.obs.Telemetry.Dropped += uint64(ev.Arg)
	}
	s.an.Event(t, ev)
}

// startRun notes the start of a run (GO) at board time at, for dur µs.
func (s *session) startRun(at, dur int64) {
	if !s.everGo {
		s.origin = at
	}
	s.running, s.everGo = true, true
	s.segEnd = s.base + at - s.origin + dur
	if dur == 0 {
		s.segEnd = 1<<62 - 1
	}
}

// newBoot forgets the table and sequence of the boot before.
func (s *session) newBoot() {
	s.tableDone = false
	clear(s.tasks)
	clear(s.locks)
	s.teTasks, s.teLocks = -1, -1
	s.asks = 0
	s.haveSeq = false
	s.configured = false
	s.nextAsk = time.Time{}
	if s.host != nil {
		s.host.reboot()
	}
	// Whatever was pending died with the board's RAM, RS excepted: the
	// banner answers it. But a copy sent after the board rebooted (the
	// host did not know yet) reaches the new boot, which has forgotten
	// the id: one that changes what the board will do makes the boot
	// stale until an SP.
	for id, p := range s.pend {
		if !slices.Contains(s.rsIDs, id) {
			delete(s.pend, id)
			s.dirty = true
			if risky(p.typ) {
				s.stale = true
			}
		}
	}
	if len(s.copies) > 0 || s.copiesLost {
		s.stale = true
		clear(s.copies)
		s.copiesLost = false
	}
	s.probe = 0
	s.goPending = false
	s.goSent = false
}

func (s *session) bootSeen(b wire.Boot) {
	if s.power.pending && s.poweredThrough(b) {
		return
	}
	if s.haveBoot && !s.power.pending && b.BootCount == s.boot.BootCount && b.Proto >= wire.ProtoV2 && s.boot.Proto >= wire.ProtoV2 && s.sameBoot(b.Uptime) {
		// The same boot's banner again, asked for with ID: not a reset.
		// (A board restarted from power-on counts its boots from 1 again,
		// and its uptime starts afresh.)
		s.booted = true
		s.boot.Uptime = b.Uptime
		if s.unknown {
			s.unknown = false
		}
		return
	}
	first := !s.haveBoot
	hostBoot := s.hostUS() - float64(b.Uptime)
	answersRS := len(s.rsIDs) > 0
	for _, id := range s.rsIDs {
		delete(s.pend, id)
		s.dirty = true
		s.answers[id] = ""
	}
	s.rsIDs = s.rsIDs[:0]
	s.boot, s.haveBoot, s.booted = b, true, true
	s.obs.Proto = b.Proto
	if first {
		s.newBoot()
		s.obs.Firmware = Firmware{Name: b.Name, Version: b.Version, Build: b.Build}
		s.bootHost, s.haveBootHost = hostBoot, true
		return
	}
	if s.power.pending {
		s.powerBanner(b, hostBoot)
		return
	}
	kind := ResetUnknown
	switch b.Reason {
	case wire.ReasonWatchdog:
		kind = ResetWatchdog
	case wire.ReasonSoftware:
		kind = ResetSoftware
	case wire.ReasonPowerOn, wire.ReasonBrownOut:
		kind = ResetPowerOn
	}
	if s.unknown {
		// The banner of a reboot already counted from its table or its
		// sequence restart: it says why.
		s.unknown = false
		s.reclassify(kind, b)
		s.creditBoot(hostBoot)
		return
	}
	s.newBoot()
	if answersRS {
		if !s.running && !s.resetNew && s.lastReset != ResetHang {
			s.bootHost = hostBoot
			return // the reset the harness asked for before the run
		}
		if s.lastReset == ResetHang {
			if n := len(s.obs.Resets); n == s.obs.ResetCount {
				s.obs.Resets[n-1].Reason, s.obs.Resets[n-1].BootCount = b.Reason, b.BootCount
			}
			s.creditBoot(hostBoot)
			return // the reboot that ends a hang already counted
		}
		kind = ResetHang
	}
	s.resetSeen(kind, b.Reason, b.BootCount)
	s.creditBoot(hostBoot)
}

// sameBoot reports whether a banner with the boot count of the known boot
// and this uptime is that boot's banner again (the answer to ID) rather
// than a board restarted from power-on, which counts from 1 again: its
// uptime must be what the known boot's uptime is by now.
func (s *session) sameBoot(uptime uint64) bool {
	if !s.haveBootHost {
		return uptime >= s.boot.Uptime
	}
	expect := s.hostUS() - s.bootHost
	// Link latency, plus clock drift (500 ppm is far beyond any crystal)
	// over a long run.
	tol := min(max(250e3, expect*5e-4), expect/2)
	d := float64(uptime) - expect
	// Only a shorter uptime means a restart. A longer one is the same boot
	// whose first banner was stale when it was read (a board that booted
	// before the host opened the port: its banner waited in the buffer),
	// so the host placed the boot too late.
	return d > -tol
}

// reclassify gives the last reset, counted unknown, the kind its banner says.
func (s *session) reclassify(kind string, b wire.Boot) {
	if kind == ResetUnknown {
		return
	}
	s.obs.ResetKinds[ResetUnknown]--
	if s.obs.ResetKinds[ResetUnknown] == 0 {
		delete(s.obs.ResetKinds, ResetUnknown)
	}
	s.obs.ResetKinds[kind]++
	s.lastReset = kind
	if n := len(s.obs.Resets); n == s.obs.ResetCount {
		r := &s.obs.Resets[n-1]
		r.Kind, r.Reason, r.BootCount = kind, b.Reason, b.BootCount
	}
}

// creditBoot moves the run time of the reset to when the board really
// rebooted: the host time of board time 0 of the new boot (receive time
// minus the banner's uptime) on the old boot's clock. With few events
// before a reset (trace level 0, a board that resets soon after GO) the
// last event is long before the reset, and the run would otherwise lose
// that board time.
func (s *session) creditBoot(hostBoot float64) {
	if s.havePrevHost && s.everGo {
		est := s.prevBase - s.prevOrigin + int64(hostBoot-s.prevBootHost)
		if est > s.base {
			s.base = est
			// The board's time up to its reboot passed (a hang's silence
			// too): the run got that far, though no event shows it.
			s.an.Done(est)
			if n := len(s.obs.Resets); n > 0 && n == s.obs.ResetCount && s.obs.Resets[n-1].AtUS < est {
				s.obs.Resets[n-1].AtUS = est
			}
		}
	}
	s.bootHost, s.haveBootHost = hostBoot, true
}

func (s *session) resetSeen(kind, reason string, bootCount uint32) {
	// Faults whose time had come are spent; those still waiting on the
	// board died with the reset and are uploaded again.
	for s.qFired < s.qNext && s.queue[s.qFired].AtUS <= s.lastRun+s.shift {
		s.qFired++
	}
	s.consumed = s.qFired
	s.obs.ResetCount++
	s.obs.ResetKinds[kind]++
	s.lastReset = kind
	if len(s.obs.Resets) < MaxResetLog {
		s.obs.Resets = append(s.obs.Resets, Reset{AtUS: s.lastRun, Kind: kind, Reason: reason,
			BootCount: bootCount, HostNS: int64(s.clk.Now().Sub(s.start)), Console: s.consoleTail()})
	}
	if len(s.obs.BlackBoxes) < MaxBlackBoxes {
		s.obs.BlackBoxes = append(s.obs.BlackBoxes, nil)
	}
	s.an.Reset(s.lastRun)
	s.progress(true)
	s.running = false
	s.resetNew = true
	// After a reboot the board clock restarts at 0: run time continues from
	// the moment of the reset.
	s.prevBase, s.prevOrigin = s.base, s.origin
	s.prevBootHost, s.havePrevHost = s.bootHost, s.haveBootHost
	s.haveBootHost = false
	s.base, s.origin = s.lastRun, 0
}

// finish closes the analysis at the last event seen: the run is over.
func (s *session) finish() *Observation {
	s.obs.EndUS = s.lastRun
	// After a reset credited up to the reboot (creditBoot) the run reached
	// at least the new segment's origin, events or not, and the board's
	// time since that reboot when the run ends there (Run: the reboot used
	// up what was left).
	end := max(s.lastRun, s.base)
	if s.resetNew {
		end = max(end, s.base+int64(s.boot.Uptime))
	}
	s.an.Finish(end)
	return s.obs
}

func (s *session) stats() {
	st := s.r.Stats()
	s.obs.Telemetry.Frames = st.Frames
	s.obs.Telemetry.BadCRC = st.BadCRC
	s.obs.Telemetry.Malformed = s.malformed + st.Malformed
	s.obs.Telemetry.TooLong = st.TooLong
	s.obs.Telemetry.Truncated = st.Truncated
	s.obs.Telemetry.Garbage = st.GarbageBytes
	s.obs.Console = s.consoleTail()
}
