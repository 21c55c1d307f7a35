package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Observation is what driving one run produced, before scoring.
type Observation struct {
	Firmware      Firmware
	Table         wire.Table
	Resets        []ResetEvent   // the first MaxResetLog resets
	ResetCount    int            // every reset
	ResetKinds    map[string]int // every reset by kind
	Telemetry     Telemetry
	FaultsSkipped int            // planned faults that fell into a reboot
	BlackBoxes    [][]wire.Event // per reset, for the first maxBlackBoxes (nil unless watchdog), run time
	EndUS         int64
	Analyzer      *analyze.Analyzer
	Link          *LinkInfo // real links only: gaps and clock drift
}

// InfraError is a failure of the rig, not of the firmware: the port is
// gone, the board never booted, the link is dead.
type InfraError struct {
	Target string
	Err    error
}

func (e *InfraError) Error() string { return fmt.Sprintf("%s: %v", e.Target, e.Err) }
func (e *InfraError) Unwrap() error { return e.Err }

// RefusedError is a board that refused a command the harness needs (NK).
type RefusedError struct {
	Target  string
	Command string
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: board refused %s: %s", e.Target, e.Command, e.Reason)
}

// errTimeout is a read deadline that passed.
var errTimeout = errors.New("timeout")

// session drives one target through one run.
type session struct {
	t     targets.Target
	clk   targets.Clock
	r     *wire.Reader
	to    Timeouts
	trace int
	an    *analyze.Analyzer
	obs   *Observation
	start time.Time
	wbuf  []byte

	nextID   uint32
	acks     map[uint32]string // id -> "" (acked), reason (refused); absent = pending
	deadline time.Time

	// boot state
	booted     bool
	tableDone  bool
	boot       wire.Boot
	resetAsked bool // the harness sent RS and expects the BOOT that follows

	// run state
	running              bool
	done                 bool
	base                 int64        // run time at the segment's origin
	origin               int64        // board time (µs since boot) of the segment's origin
	prevBase, prevOrigin int64        // the same for the segment before the last reset
	box                  []wire.Event // BX frames being collected
	lastRun              int64        // run time of the latest event
	haveSeq              bool
	lastSeq              uint32
	resetNew             bool   // a reset happened since the last arm
	lastReset            string // kind of the latest reset

	// fault queue: faults in run time, uploaded up to qNext, due up to qFired
	queue         []PlannedFault
	resolved      map[*FaultSpec]wire.FaultCmd
	qNext, qFired int
	segStart      int64           // plan time of the segment start
	shift         int64           // plan time minus run time in this segment
	consumed      int             // faults uploaded before the last reset
	async         map[uint32]bool // ids of SF sent during the run
	refused       error

	host *hostClock // receive times; nil when the target owns time (sim)
}

func newSession(t targets.Target, to Timeouts, trace int, raw io.Writer) *session {
	var src io.Reader = t
	clk := targets.ClockOf(t)
	var stamp *stampReader
	if _, owns := t.(targets.Clock); !owns {
		stamp = &stampReader{r: t, clk: clk}
		src = stamp
	}
	if raw != nil {
		src = io.TeeReader(src, raw)
	}
	s := &session{t: t, clk: clk, r: wire.NewReader(src), to: to, trace: trace,
		an: analyze.New(), acks: map[uint32]string{}, async: map[uint32]bool{}}
	s.an.SetLevel(trace)
	s.obs = &Observation{Analyzer: s.an, ResetKinds: map[string]int{}}
	s.start = s.clk.Now()
	if stamp != nil {
		stamp.start = s.start
		s.host = newHostClock(stamp)
	}
	return s
}

func (s *session) infra(format string, a ...any) error {
	return &InfraError{Target: s.t.Name(), Err: fmt.Errorf(format+": %w", append(a, targets.ErrUnreachable)...)}
}

// next reads one frame, failing with errTimeout once the deadline passes.
func (s *session) next(deadline time.Time) (*wire.Frame, error) {
	if !deadline.Equal(s.deadline) {
		if err := s.t.SetReadDeadline(deadline); err != nil {
			return nil, s.infra("set read deadline: %v", err)
		}
		s.deadline = deadline
	}
	f, err := s.r.Next()
	if err == nil {
		return f, nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errTimeout
	}
	return nil, s.infra("read: %v", err)
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

// command sends a command and returns its id.
func (s *session) command(c wire.Command) (uint32, error) {
	s.nextID++
	c.ID = s.nextID
	s.wbuf = wire.AppendCommand(s.wbuf[:0], c)
	return c.ID, s.send(s.wbuf)
}

// awaitAcks waits for the answers to ids.
func (s *session) awaitAcks(ctx context.Context, what string, ids ...uint32) error {
	deadline := s.clk.Now().Add(s.to.Boot)
	err := s.pump(ctx, deadline, func() bool {
		for _, id := range ids {
			if _, ok := s.acks[id]; !ok {
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
	for _, id := range ids {
		if reason := s.acks[id]; reason != "" {
			return &RefusedError{Target: s.t.Name(), Command: what, Reason: reason}
		}
		delete(s.acks, id)
	}
	return nil
}

// awaitBoot waits for a BOOT banner and the table after it. When none comes
// within the boot timeout it asks for a software reset once.
func (s *session) awaitBoot(ctx context.Context, mayReset bool) error {
	ready := func() bool { return s.booted && s.tableDone }
	err := s.pump(ctx, s.clk.Now().Add(s.to.Boot), ready)
	if errors.Is(err, errTimeout) && mayReset {
		s.resetAsked = true
		if _, err := s.command(wire.Command{Type: wire.TypeReset}); err != nil {
			return err
		}
		err = s.pump(ctx, s.clk.Now().Add(s.to.Boot), ready)
	}
	if errors.Is(err, errTimeout) {
		return s.infra("no BOOT banner and task table within %v", s.to.Boot)
	}
	return err
}

// dispatch updates the session with one frame. It is the hot path.
func (s *session) dispatch(f *wire.Frame) {
	switch f.Type {
	case wire.TypeEvent:
		ev, err := f.Event()
		if err != nil {
			s.obs.Telemetry.Malformed++
			return
		}
		if s.host != nil {
			s.host.frame(ev.Time)
		}
		s.event(&ev)
	case wire.TypeBoot:
		b, err := f.Boot()
		if err != nil {
			s.obs.Telemetry.Malformed++
			return
		}
		s.bootSeen(b)
	case wire.TypeTask:
		if t, err := f.Task(); err == nil {
			s.obs.Table.Tasks = append(s.obs.Table.Tasks, t)
		}
	case wire.TypeLock:
		if l, err := f.Lock(); err == nil {
			s.obs.Table.Locks = append(s.obs.Table.Locks, l)
		}
	case wire.TypeTableEnd:
		s.tableDone = true
		s.an.SetTable(&s.obs.Table)
	case wire.TypeSummary:
		// Summaries stand in for EN events only at trace level 0.
		if sm, err := f.Summary(); err == nil {
			s.sequence(sm.Seq)
			if s.trace == 0 {
				s.an.Summary(&sm)
			}
		}
	case wire.TypeAck:
		if id, err := f.Ack(); err == nil {
			if s.async[id] {
				delete(s.async, id)
				return
			}
			s.acks[id] = ""
		}
	case wire.TypeNak:
		if id, reason, err := f.Nak(); err == nil {
			if reason == "" {
				reason = "no reason given"
			}
			if s.async[id] {
				delete(s.async, id)
				s.refused = &RefusedError{Target: s.t.Name(), Command: "SF schedule", Reason: reason}
				return
			}
			s.acks[id] = reason
		}
	case wire.TypeBlackBox:
		if ev, err := f.Event(); err == nil {
			s.box = append(s.box, ev)
		}
	case wire.TypeDone:
		if s.running {
			s.running, s.done = false, true
		}
	}
}

// sequence checks the shared EV/SM sequence number: a gap is lost
// telemetry, a step back is a reboot whose banner never arrived.
func (s *session) sequence(seq uint32) {
	if s.haveSeq && seq != s.lastSeq+1 {
		if seq <= s.lastSeq {
			s.resetSeen(ResetUnknown, "", 0)
		} else {
			s.obs.Telemetry.Lost += uint64(seq - s.lastSeq - 1)
		}
	}
	s.haveSeq, s.lastSeq = true, seq
}

func (s *session) event(ev *wire.Event) {
	s.sequence(ev.Seq)
	if ev.Kind == wire.EvRun {
		s.running = true
		if s.base == 0 && s.obs.ResetCount == 0 {
			s.origin = int64(ev.Time)
		}
	}
	if !s.running {
		return
	}
	t := s.base + int64(ev.Time) - s.origin
	s.lastRun = t
	if ev.Kind == wire.EvDropped {
		s.obs.Telemetry.Dropped += uint64(ev.Arg)
	}
	s.an.Event(t, ev)
}

func (s *session) bootSeen(b wire.Boot) {
	first := !s.booted
	s.booted, s.tableDone = true, false
	if s.host != nil {
		s.host.reboot()
	}
	s.boot = b
	s.obs.Table = wire.Table{}
	s.haveSeq = false
	if first {
		s.obs.Firmware = Firmware{Name: b.Name, Version: b.Version, Build: b.Build}
		s.resetAsked = false
		return
	}
	kind := ResetUnknown
	switch b.Reason {
	case wire.ReasonWatchdog:
		kind = ResetWatchdog
	case wire.ReasonSoftware:
		kind = ResetSoftware
	case wire.ReasonPowerOn:
		kind = ResetPowerOn
	}
	if s.resetAsked {
		s.resetAsked = false
		if !s.running && !s.resetNew {
			return // the reset the harness asked for before the run
		}
		kind = ResetHang
		if s.lastReset == ResetHang {
			if n := len(s.obs.Resets); n == s.obs.ResetCount {
				s.obs.Resets[n-1].Reason, s.obs.Resets[n-1].BootCount = b.Reason, b.BootCount
			}
			return // the reboot that ends a hang already counted
		}
	}
	s.resetSeen(kind, b.Reason, b.BootCount)
}

func (s *session) resetSeen(kind, reason string, bootCount uint32) {
	// Faults whose time had come are spent; those still waiting on the
	// board died with the reset and are uploaded again.
	for s.qFired < s.qNext && int64(s.queue[s.qFired].At) <= s.lastRun+s.shift {
		s.qFired++
	}
	s.consumed = s.qFired
	s.obs.ResetCount++
	s.obs.ResetKinds[kind]++
	s.lastReset = kind
	if len(s.obs.Resets) < MaxResetLog {
		s.obs.Resets = append(s.obs.Resets, ResetEvent{AtUS: s.lastRun, Kind: kind, Reason: reason,
			BootCount: bootCount, HostNS: int64(s.clk.Now().Sub(s.start))})
	}
	if len(s.obs.BlackBoxes) < maxBlackBoxes {
		s.obs.BlackBoxes = append(s.obs.BlackBoxes, nil)
	}
	s.an.Reset(s.lastRun)
	s.running = false
	s.resetNew = true
	// After a reboot the board clock restarts at 0: run time continues from
	// the moment of the reset.
	s.prevBase, s.prevOrigin = s.base, s.origin
	s.base, s.origin = s.lastRun, 0
}

// drive runs plan on an open target and returns what it observed.
func drive(ctx context.Context, t targets.Target, c *Campaign, plan RunPlan, raw io.Writer) (*Observation, error) {
	s := newSession(t, c.Timeouts, c.Trace, raw)
	defer func() { s.obs.Link = s.linkInfo() }()
	s.an.SetBurstPriorities(func(id uint32) (int, bool) {
		if int(id) < len(plan.Faults) && plan.Faults[id].ID == id {
			if lb, ok := plan.Faults[id].spec.Fault.(*faults.LoadBurst); ok {
				return lb.Priority, true
			}
		}
		return 0, false
	})
	if err := s.awaitBoot(ctx, true); err != nil {
		return s.obs, err
	}
	if _, err := s.configure(ctx, c.Trace); err != nil {
		return s.obs, err
	}
	var err error
	s.resolved, err = resolveFaults(t.Name(), &s.obs.Table, plan)
	if err != nil {
		return s.obs, err
	}
	total := plan.Duration.Microseconds()
	for {
		// Where the run stands: 0 at the first start, the reset moment plus
		// the reboot time after a reset.
		now := s.base
		if s.resetNew {
			now = s.base + int64(s.boot.Uptime)
		}
		remaining := total - now
		if remaining <= 0 {
			break
		}
		if err := s.arm(ctx, plan.Faults, now, remaining, hyperperiod(&s.obs.Table)); err != nil {
			return s.obs, err
		}
		s.resetNew = false
		err := s.observe(ctx)
		switch {
		case err == nil && s.done:
			return s.finish(), nil
		case err == nil && s.resetNew:
			// The board reset; wait for its table, then re-arm what is left.
			if err := s.awaitBoot(ctx, false); err != nil {
				return s.obs, err
			}
			if s.lastReset == ResetWatchdog && s.obs.ResetCount <= maxBlackBoxes {
				if err := s.blackBox(ctx); err != nil {
					return s.obs, err
				}
			}
			if s.lastReset != ResetHang {
				if _, err := s.configure(ctx, c.Trace); err != nil {
					return s.obs, err
				}
			}
		case errors.Is(err, errTimeout):
			// Silence while the board should talk: a hang. Reset it.
			s.resetSeen(ResetHang, "", 0)
			s.resetAsked = true
			// Wait for the table of the reboot to come, not the one
			// already seen: commands sent while it boots are lost.
			s.tableDone = false
			if r, ok := t.(targets.Resetter); ok {
				if err := r.ResetBoard(); err != nil {
					return s.obs, s.infra("reset after hang: %v", err)
				}
			} else if _, err := s.command(wire.Command{Type: wire.TypeReset}); err != nil {
				return s.obs, err
			}
			if err := s.awaitBoot(ctx, false); err != nil {
				return s.obs, err
			}
			if _, err := s.configure(ctx, c.Trace); err != nil {
				return s.obs, err
			}
		default:
			if ctx.Err() != nil {
				s.command(wire.Command{Type: wire.TypeStop}) //nolint:errcheck // best effort on the way out
			}
			s.stats()
			return s.obs, err
		}
	}
	return s.finish(), nil
}

// finish closes the analysis at the last event seen: the run is over.
func (s *session) finish() *Observation {
	s.obs.EndUS = s.lastRun
	s.an.Finish(s.lastRun)
	s.stats()
	return s.obs
}

// blackBox asks the board that just came back from a watchdog reset for
// the events it recorded before it (DP: BX frames, then AK), and keeps them
// with the reset, on run time.
func (s *session) blackBox(ctx context.Context) error {
	s.box = s.box[:0]
	id, err := s.command(wire.Command{Type: wire.TypeDump})
	if err != nil {
		return err
	}
	if err := s.awaitAcks(ctx, "DP", id); err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			return nil // a board without a black box
		}
		return err
	}
	// The ring can still hold events of earlier boots (each on its own
	// clock): keep the last boot's, where time never goes back.
	from := len(s.box)
	for from > 0 && (from == len(s.box) || s.box[from-1].Time <= s.box[from].Time) {
		from--
	}
	box := make([]wire.Event, 0, len(s.box)-from)
	for _, ev := range s.box[from:] {
		ev.Time = uint64(s.prevBase + int64(ev.Time) - s.prevOrigin) // now run time
		box = append(box, ev)
	}
	s.obs.BlackBoxes[len(s.obs.BlackBoxes)-1] = box
	return nil
}

func (s *session) stats() {
	st := s.r.Stats()
	s.obs.Telemetry.Frames = st.Frames
	s.obs.Telemetry.BadCRC = st.BadCRC
	s.obs.Telemetry.Malformed += st.Malformed
	s.obs.Telemetry.TooLong = st.TooLong
	s.obs.Telemetry.Garbage = st.GarbageBytes
}

func (s *session) configure(ctx context.Context, trace int) (uint32, error) {
	id, err := s.command(wire.Command{Type: wire.TypeConfig, Key: "trace", Value: fmt.Sprint(trace)})
	if err != nil {
		return 0, err
	}
	return id, s.awaitAcks(ctx, "CF trace", id)
}

// Fault upload: the board fires each fault from its own clock, so only
// the faults of the next uploadLead of run time (and at least uploadMin)
// need to be on the board. Topping the queue up while the run goes keeps
// the board's memory and the harness's flat however long the run.
const (
	uploadLead = 2_000_000 // µs of run time
	uploadMin  = 8
)

// arm uploads the first faults still ahead and starts the board for
// remaining µs; now is the run time the board starts at.
//
// After a reset the board's tasks start their cycles afresh. So that a
// fault planned at a phase of the task set (say 5 ms after asi_met takes the
// bus) keeps that phase, the new start is matched with the plan time
// nearest to now that is a whole number of hyperperiods; faults keep their
// offset from there. Every planned fault fires at most once: those that
// fired before the reset, and those planned before the new start, are
// skipped.
func (s *session) arm(ctx context.Context, faults []PlannedFault, now, remaining, hyper int64) error {
	planNow := now
	if now > 0 && hyper > 0 {
		planNow = (now + hyper/2) / hyper * hyper
	}
	s.queue, s.qNext, s.segStart, s.shift = faults, s.consumed, planNow, planNow-now
	for s.qNext < len(s.queue) && int64(s.queue[s.qNext].At) < planNow {
		s.obs.FaultsSkipped++
		s.qNext++
	}
	s.qFired = s.qNext
	ids, err := s.upload(now)
	if err != nil {
		return err
	}
	if err := s.awaitAcks(ctx, "SF schedule", ids...); err != nil {
		return err
	}
	id, err := s.command(wire.Command{Type: wire.TypeStart, Duration: uint64(remaining)})
	if err != nil {
		return err
	}
	s.done = false
	return s.awaitAcks(ctx, "GO", id)
}

// upload sends the queued faults due before runTime+uploadLead, keeping at
// least uploadMin on the board.
func (s *session) upload(runTime int64) ([]uint32, error) {
	var ids []uint32
	for s.qNext < len(s.queue) && (int64(s.queue[s.qNext].At) < runTime+s.shift+uploadLead || s.qNext-s.qFired < uploadMin) {
		pf := &s.queue[s.qNext]
		fc := s.resolved[pf.spec]
		fc.ID = pf.ID
		id, err := s.command(wire.Command{Type: wire.TypeSchedule, At: uint64(pf.At - s.segStart), Fault: fc})
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
		s.qNext++
	}
	return ids, nil
}

// refill tops the board's fault queue up during a run; the answers are
// checked as they arrive.
func (s *session) refill() error {
	for s.qFired < s.qNext && int64(s.queue[s.qFired].At) <= s.lastRun+s.shift {
		s.qFired++
	}
	if s.qNext-s.qFired >= uploadMin && (s.qNext == len(s.queue) || int64(s.queue[s.qNext].At) >= s.lastRun+s.shift+uploadLead) {
		return nil
	}
	ids, err := s.upload(s.lastRun)
	for _, id := range ids {
		s.async[id] = true
	}
	return err
}

// observe reads the run until the board says it is done, resets, or falls
// silent for longer than the liveness timeout.
func (s *session) observe(ctx context.Context) error {
	check := 0
	for !s.done && !s.resetNew {
		deadline := s.clk.Now().Add(s.to.Liveness)
		frames := s.r.Stats().Frames
		for !s.done && !s.resetNew {
			f, err := s.next(deadline)
			if errors.Is(err, errTimeout) && s.r.Stats().Frames != frames {
				break // frames came in since the deadline was set: not silence
			}
			if err != nil {
				return err
			}
			s.dispatch(f)
			if s.refused != nil {
				return s.refused
			}
			if s.qNext < len(s.queue) && s.running {
				if err := s.refill(); err != nil {
					return err
				}
			}
			if check++; check&1023 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// maxHyperperiod bounds the re-alignment after a reset: a task set whose
// hyperperiod is longer is simply resumed where it stood.
const maxHyperperiod = 10_000_000 // µs

// hyperperiod is the least common multiple of the declared periods (µs),
// or 0 when there is none or it exceeds maxHyperperiod.
func hyperperiod(t *wire.Table) int64 {
	h := int64(0)
	for _, tk := range t.Tasks {
		if tk.Period <= 0 {
			continue
		}
		if h == 0 {
			h = tk.Period
			continue
		}
		a, b := h, tk.Period
		for b != 0 {
			a, b = b, a%b
		}
		h = h / a * tk.Period
		if h > maxHyperperiod {
			return 0
		}
	}
	return h
}

// resolveFaults turns each campaign fault into the command form this board
// understands, once per fault (not per firing). target names the board in
// the error.
func resolveFaults(target string, tbl *wire.Table, plan RunPlan) (map[*FaultSpec]wire.FaultCmd, error) {
	out := map[*FaultSpec]wire.FaultCmd{}
	for _, pf := range plan.Faults {
		if _, done := out[pf.spec]; done {
			continue
		}
		fc, err := pf.spec.Fault.Command(tbl)
		if err != nil {
			return nil, &RefusedError{Target: target, Command: "fault " + pf.Name, Reason: err.Error()}
		}
		out[pf.spec] = fc
	}
	return out, nil
}
