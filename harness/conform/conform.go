package conform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Options tune the script. Zero values take the defaults.
type Options struct {
	// Timeout bounds the wait for each answer, in board time (default 2 s).
	Timeout time.Duration
	// Tolerance is how far a fault's FB, or DN, may be from the time the
	// spec gives it, in board time (default 2 ms).
	Tolerance time.Duration
	// RunLength is the board time of the main run (default 1.5 s; at least
	// 1.2 s, so that the first SM of the run falls inside it).
	RunLength time.Duration
}

// Defaults.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultTolerance = 2 * time.Millisecond
	DefaultRunLength = 1500 * time.Millisecond
)

// Script constants: when the probe fault fires, how long the load bursts
// last, how long the board must stay quiet when idle.
const (
	probeAt     = 300 * time.Millisecond
	probeLength = 5 * time.Millisecond
	listen      = 300 * time.Millisecond // boot output, and the quiet after a run
	starveAt    = 50 * time.Millisecond
	starveFor   = 3 * time.Second // far beyond any watchdog timeout
)

// Fault ids the script uses.
const (
	faultProbe  = 1
	faultBad    = 2
	faultStarve = 3
	faultIdle   = 4
)

// Run drives the board behind t through the script and returns one result
// per rule. The error is an *InfraError when the board cannot be reached
// (then the report holds what was found so far), or the context's error.
func Run(ctx context.Context, t targets.Target, opt Options) (*Report, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Tolerance <= 0 {
		opt.Tolerance = DefaultTolerance
	}
	if opt.RunLength <= 0 {
		opt.RunLength = DefaultRunLength
	}
	opt.RunLength = max(opt.RunLength, 1200*time.Millisecond)
	s := &session{ctx: ctx, t: t, clk: targets.ClockOf(t), r: wire.NewReader(smallReads{t}), opt: opt, v: newVerdicts(), loadTask: -1}
	// Ids start high, so a board that remembers ids from an earlier
	// session (it was not reset) does not take ours for repeats.
	s.id = uint32(s.clk.Now().UnixMicro()%1_000_000_000) + 1_000_000
	stopped, err := s.script()
	rep := &Report{Target: t.Name(), Proto: s.proto, Results: s.v.results(s.proto, stopped)}
	if s.boot != nil {
		b := s.boot.boot
		rep.Board = fmt.Sprintf("%s %s (build %s)", b.Name, b.Version, b.Build)
	}
	return rep, err
}

// errStop ends the script early: what follows depends on what failed.
type errStop struct{ why string }

func (e *errStop) Error() string { return e.why }

func stop(format string, a ...any) error { return &errStop{fmt.Sprintf(format, a...)} }

// script runs the steps in order; it returns why it stopped early, if it
// did, and an infrastructure error.
func (s *session) script() (string, error) {
	steps := []func() error{s.greet, s.resetSW, s.refusals, s.mainRun, s.afterRun, s.watchdog, s.stopRun}
	for _, step := range steps {
		err := step()
		var es *errStop
		if errors.As(err, &es) {
			s.frameRules()
			return es.why, nil
		}
		if err != nil {
			s.frameRules()
			return err.Error(), err
		}
	}
	s.frameRules()
	return "", nil
}

// frameRules judges the line as a whole from the reader's counters.
func (s *session) frameRules() {
	st := s.stats
	s.v.check("frames", st.BadCRC+st.Malformed+st.Truncated == 0,
		"%d frames with a bad CRC, %d malformed, %d truncated (of %d valid)", st.BadCRC, st.Malformed, st.Truncated, st.Frames)
	s.v.check("frame-length", st.TooLong == 0, "%d lines longer than MaxFrame (%d bytes)", st.TooLong, wire.MaxFrame)
	if st.Frames > 0 {
		s.v.notes["frames"] = fmt.Sprintf("%d frames", st.Frames)
	}
}

// greet listens to the boot output, pings, and asks for the identity and
// table (v2). A board that sent nothing at all is unreachable.
func (s *session) greet() error {
	if _, _, err := s.collect(listen, nil); err != nil {
		return err
	}
	pg := wire.Command{Type: wire.TypePing, ID: s.newID()}
	a, err := s.sendQuiet(pg)
	if err != nil {
		return err
	}
	if !a.got {
		if s.stats.Bytes == 0 {
			return &InfraError{Target: s.t.Name(), Err: fmt.Errorf("%w: not a byte from the board in %v of its time: is it connected, powered, at this speed?",
				targets.ErrUnreachable, listen+s.opt.Timeout)}
		}
		s.v.fail("answers", "%s: no AK or NK within %v", name(pg), s.opt.Timeout)
		return stop("the board answers no PG")
	}
	if s.boot != nil && s.proto < 2 {
		return nil // a v1 board: no ID
	}
	// ID (v2). A v1 board does not know it and stays silent.
	idc := wire.Command{Type: typeIdentify, ID: s.newID()}
	before := s.boot
	a, err = s.sendQuiet(idc)
	if err != nil {
		return err
	}
	if !a.got {
		if before == nil {
			return nil // no banner yet: the reset that follows brings it
		}
		s.v.fail("identify", "no answer to %s", name(idc))
		return nil
	}
	tbl, err := s.table(a.frames, true)
	if err != nil {
		return err
	}
	if s.proto < 2 {
		return nil
	}
	switch {
	case !a.ok:
		s.v.fail("identify", "%s answered NK %s", name(idc), a.reason)
	case tbl.boot == nil:
		s.v.fail("identify", "AK but no BT followed")
	case before != nil && tbl.boot.boot.BootCount != before.boot.BootCount:
		s.v.fail("identify", "the BT after ID has boot count %d, the board's last boot was %d", tbl.boot.boot.BootCount, before.boot.BootCount)
	case tbl.ended:
		s.v.note("identify", "BT and %d tasks, %d locks", len(tbl.tasks), len(tbl.locks))
	default:
		s.v.fail("identify", "the table after ID is incomplete: %s", tbl.problem)
	}
	// The same id again: the answer again, and no second table.
	return s.repeatID(idc)
}

// sendQuiet is send without counting a missing answer against "answers":
// ID is how the script tells a v1 board from a v2 one.
func (s *session) sendQuiet(c wire.Command) (answer, error) {
	v := s.v
	s.v = newVerdicts()
	a, err := s.send(c, nil)
	// keep everything but the verdict on answers
	for id, f := range s.v.fails {
		if id != "answers" {
			v.fails[id] = append(v.fails[id], f...)
		}
	}
	for id := range s.v.checked {
		v.checked[id] = true
	}
	s.v = v
	return a, err
}

// repeatID sends an answered ID again with its id, then a PG as a fence:
// the board must answer the ID again and send no table for it.
func (s *session) repeatID(idc wire.Command) error {
	if err := s.write(encode(idc)); err != nil {
		return err
	}
	fence, err := s.command(&wire.Command{Type: wire.TypePing})
	if err != nil {
		return err
	}
	acks, boots := 0, 0
	for _, r := range fence.frames {
		switch {
		case r.typ == wire.TypeAck && r.id == idc.ID:
			acks++
		case r.typ == wire.TypeBoot:
			boots++
		}
	}
	s.v.check("idempotent-ids", acks == 1, "a repeated %s was answered %d times before the next command's answer, want once", name(idc), acks)
	s.v.check("idempotent-ids", boots == 0, "a repeated %s sent the table again (%d BT)", name(idc), boots)
	return nil
}

// tableRead is a BT and the table that followed it.
type tableRead struct {
	boot     *rec
	tasks    []wire.TaskInfo
	locks    []wire.LockInfo
	complete bool // TE came and its counts match
	ended    bool // TE came (its counts are the "table" rule's business)
	problem  string
}

// table reads (from got, then the line) a BT and its table up to TE, and
// judges the banner and table rules. needBoot: a BT must come.
func (s *session) table(got []*rec, needBoot bool) (tableRead, error) {
	var t tableRead
	i := slices.IndexFunc(got, func(r *rec) bool { return r.typ == wire.TypeBoot })
	var frames []*rec
	if i >= 0 {
		frames = slices.Clone(got[i:])
	}
	if !slices.ContainsFunc(frames, func(r *rec) bool { return r.typ == wire.TypeTableEnd }) {
		more, _, err := s.collect(s.opt.Timeout, func(r *rec) bool { return r.typ == wire.TypeTableEnd })
		if err != nil {
			return t, err
		}
		if i < 0 {
			j := slices.IndexFunc(more, func(r *rec) bool { return r.typ == wire.TypeBoot })
			if j >= 0 {
				frames = more[j:]
			}
		} else {
			frames = append(frames, more...)
		}
	}
	if len(frames) == 0 {
		if needBoot {
			t.problem = "no BT"
		}
		return t, nil
	}
	t.boot = frames[0]
	s.judgeBanner(t.boot)
	seenT, seenL := map[int]bool{}, map[int]bool{}
	te := -1
	for k, r := range frames[1:] {
		switch r.typ {
		case wire.TypeTask:
			if r.task.Index != len(t.tasks) {
				t.problem = fmt.Sprintf("TK index %d where %d comes next", r.task.Index, len(t.tasks))
			}
			seenT[r.task.Index] = true
			t.tasks = append(t.tasks, r.task)
		case wire.TypeLock:
			if r.lock.Index != len(t.locks) {
				t.problem = fmt.Sprintf("LK index %d where %d comes next", r.lock.Index, len(t.locks))
			}
			seenL[r.lock.Index] = true
			t.locks = append(t.locks, r.lock)
		case wire.TypeTableEnd:
			te = k + 1
		}
		if te >= 0 {
			break
		}
	}
	t.ended = te >= 0
	switch {
	case te < 0:
		t.problem = "no TE within the timeout"
	case t.problem != "":
	case frames[te].te[0] != len(seenT) || frames[te].te[1] != len(seenL):
		t.problem = fmt.Sprintf("TE says %d tasks and %d locks, the board sent %d TK and %d LK", frames[te].te[0], frames[te].te[1], len(seenT), len(seenL))
	default:
		t.complete = true
	}
	if t.complete {
		s.v.note("table", "%d tasks, %d locks", len(t.tasks), len(t.locks))
	} else {
		s.v.fail("table", "%s", t.problem)
	}
	if len(t.tasks) > 0 {
		// What came is all the script has to plan with.
		s.tasks = t.tasks
		s.judgeLoadTask()
	}
	return t, nil
}

// judgeBanner checks one BT.
func (s *session) judgeBanner(r *rec) {
	if r.bad {
		s.v.fail("banner", "%s does not decode", r.line)
		return
	}
	b := r.boot
	known := []string{wire.ReasonPowerOn, wire.ReasonWatchdog, wire.ReasonSoftware, "BOR"}
	s.v.check("banner", slices.Contains(known, b.Reason), "%s: reset reason %q is none of %v", r.line, b.Reason, known)
	s.v.check("banner", r.proto == 1 || r.proto == 2, "%s: protocol version %d (want 1 or 2)", r.line, r.proto)
	s.v.note("banner", "%s %s build %s, protocol %d", b.Name, b.Version, b.Build, r.proto)
}

// judgeLoadTask checks the v2 load pseudo-task in the table just read.
func (s *session) judgeLoadTask() {
	s.loadTask = -1
	for _, tk := range s.tasks {
		if tk.Name == "load" {
			s.loadTask = tk.Index
		}
	}
	if s.proto < 2 {
		return
	}
	if s.loadTask < 0 {
		s.v.fail("load-task", "the table declares no `load` task")
		return
	}
	tk := s.tasks[s.loadTask]
	s.v.check("load-task", s.loadTask == len(s.tasks)-1, "`load` is task %d of %d: it must follow the board's own tasks", s.loadTask, len(s.tasks))
	s.v.check("load-task", tk.Priority == 0 && tk.Period == 0 && tk.Deadline == 0 && tk.Offset == 0 && tk.WCET == 0,
		"`load` declares priority %d, period %d, deadline %d, offset %d, wcet %d: all must be 0", tk.Priority, tk.Period, tk.Deadline, tk.Offset, tk.WCET)
}

// ownTasks are the declared tasks without the load task.
func (s *session) ownTasks() []wire.TaskInfo {
	var out []wire.TaskInfo
	for _, tk := range s.tasks {
		if tk.Index != s.loadTask {
			out = append(out, tk)
		}
	}
	return out
}

// resetSW resets the board with RS: a known state for what follows.
func (s *session) resetSW() error {
	prev := s.boot
	rs := wire.Command{Type: wire.TypeReset, ID: s.newID()}
	a, err := s.send(rs, func(r *rec) bool { return r.typ == wire.TypeBoot && r.fresh })
	if err != nil {
		return err
	}
	tbl, err := s.table(a.frames, true)
	if err != nil {
		return err
	}
	if tbl.boot == nil {
		s.v.fail("reset-sw", "no BT within %v of %s", s.opt.Timeout, name(rs))
		return stop("the board did not reboot on RS")
	}
	b := tbl.boot.boot
	s.v.check("reset-sw", b.Reason == wire.ReasonSoftware, "BT after RS gives reason %s, want SW", b.Reason)
	if prev != nil {
		s.v.check("reset-sw", b.BootCount == prev.boot.BootCount+1, "boot count %d after RS, the last boot was %d", b.BootCount, prev.boot.BootCount)
	}
	if len(s.tasks) == 0 {
		return stop("no task table: the script needs the task priorities")
	}
	return nil
}

// expectNak sends c and checks it is refused with reason.
func (s *session) expectNak(c wire.Command, reason string) (answer, error) {
	c.ID = s.newID()
	a, err := s.send(c, nil)
	if err == nil && a.got {
		s.v.check("nak-reasons", !a.ok && a.reason == reason, "%s: answered %s, want NK %s", name(c), ackText(a), reason)
	}
	return a, err
}

func ackText(a answer) string {
	if a.ok {
		return "AK"
	}
	return "NK " + a.reason
}

// refusals: commands a board must refuse, and SP on an idle board.
func (s *session) refusals() error {
	if _, err := s.expectNak(wire.Command{Type: wire.TypeConfig, Key: "no_such_key", Value: "1"}, "bad_key"); err != nil {
		return err
	}
	fn := wire.Command{Type: wire.TypeFire, Fault: wire.FaultCmd{ID: faultIdle, Kind: wire.FaultLoadBurst, Priority: 1, Length: 1000}}
	if _, err := s.expectNak(fn, "idle"); err != nil {
		return err
	}
	bad := wire.Command{Type: wire.TypeSchedule, At: 100_000, Fault: wire.FaultCmd{ID: faultBad, Kind: "ZZ"}}
	if _, err := s.expectNak(bad, "bad_fault"); err != nil {
		return err
	}
	if s.proto >= 2 {
		sp := wire.Command{Type: wire.TypeStop}
		a, err := s.command(&sp)
		if err != nil {
			return err
		}
		if a.got {
			dn := slices.ContainsFunc(a.frames, func(r *rec) bool { return r.typ == wire.TypeDone })
			s.v.check("stop", a.ok && !dn, "%s on an idle board: %s%s, want AK and no DN", name(sp), ackText(a), map[bool]string{true: " after a DN"}[dn])
		}
	}
	return nil
}

// mainRun: trace level 1, a probe load burst scheduled (twice with one id
// on v2), GO (twice with one id on v2), DN. (CF and ID during a run are
// sent in stopRun's run, which cannot end before they arrive.)
func (s *session) mainRun() error {
	if a, err := s.command(&wire.Command{Type: wire.TypeConfig, Key: "trace", Value: "1"}); err != nil {
		return err
	} else if a.got && !a.ok {
		s.v.fail("answers", "CF trace 1 refused: NK %s", a.reason)
	}
	minPrio := 1
	if own := s.ownTasks(); len(own) > 0 {
		minPrio = own[0].Priority
		for _, tk := range own {
			minPrio = min(minPrio, tk.Priority)
		}
	}
	sf := wire.Command{Type: wire.TypeSchedule, ID: s.newID(), At: uint64(probeAt.Microseconds()),
		Fault: wire.FaultCmd{ID: faultProbe, Kind: wire.FaultLoadBurst, Priority: max(minPrio, 1), Length: uint64(probeLength.Microseconds())}}
	a, err := s.send(sf, nil)
	if err != nil {
		return err
	}
	if !a.ok {
		return stop("%s: %s", name(sf), ackText(a))
	}
	if s.proto >= 2 {
		if a, err := s.send(sf, nil); err != nil {
			return err
		} else {
			s.v.check("idempotent-ids", a.ok, "a repeated %s: %s, want AK again", name(sf), ackText(a))
		}
	}
	dur := uint64(s.opt.RunLength.Microseconds())
	goc := wire.Command{Type: wire.TypeStart, ID: s.newID(), Duration: dur}
	mark := len(s.log) // the run's frames are s.log[mark:]
	a, err = s.send(goc, nil)
	if err != nil {
		return err
	}
	if !a.ok {
		return stop("%s: %s", name(goc), ackText(a))
	}
	if s.proto >= 2 {
		a, err := s.send(goc, nil)
		if err != nil {
			return err
		}
		s.v.check("idempotent-ids", a.ok, "a repeated %s: %s, want AK again", name(goc), ackText(a))
	}
	// Into the run, past the probe fault.
	goAt, found := s.goEvent(mark)
	if _, _, err := s.collect(s.opt.Timeout+probeAt*2, func(r *rec) bool {
		if !found {
			goAt, found = s.goEvent(mark)
		}
		return found && r.time >= goAt+uint64(2*probeAt.Microseconds()) || r.typ == wire.TypeDone
	}); err != nil {
		return err
	}
	if goAt, found = s.goEvent(mark); !found {
		s.v.fail("done", "no GO event after %s was answered", name(goc))
		return stop("the run did not start")
	}
	gotDN := slices.ContainsFunc(s.log[mark:], func(r *rec) bool { return r.typ == wire.TypeDone })
	if !gotDN {
		if _, gotDN, err = s.collect(s.opt.RunLength+s.opt.Timeout, func(r *rec) bool { return r.typ == wire.TypeDone }); err != nil {
			return err
		}
	}
	s.judgeRun(s.log[mark:], goAt, dur, gotDN)
	return nil
}

// goEvent finds the GO event in s.log[from:].
func (s *session) goEvent(from int) (uint64, bool) {
	for _, r := range s.log[from:] {
		if r.typ == wire.TypeEvent && r.ev.Kind == wire.EvRun {
			return r.time, true
		}
	}
	return 0, false
}

// identifyRunning sends ID during the run: the table comes again, with the
// boot count of the running boot, and events go on after it.
func (s *session) identifyRunning() error {
	boot := s.boot
	idc := wire.Command{Type: typeIdentify, ID: s.newID()}
	a, err := s.send(idc, nil)
	if err != nil {
		return err
	}
	if !a.ok {
		s.v.fail("identify-running", "%s during a run: %s", name(idc), ackText(a))
		return nil
	}
	tbl, err := s.table(a.frames, true)
	if err != nil {
		return err
	}
	switch {
	case tbl.boot == nil:
		s.v.fail("identify-running", "no BT after ID during the run")
	case tbl.boot.boot.BootCount != boot.boot.BootCount:
		s.v.fail("identify-running", "the BT after ID has boot count %d: the board rebooted (was %d)", tbl.boot.boot.BootCount, boot.boot.BootCount)
	case !tbl.ended:
		s.v.fail("identify-running", "table incomplete: %s", tbl.problem)
	default:
		// The run goes on: an event after the table.
		more, ok, err := s.collect(s.opt.Timeout, func(r *rec) bool { return r.typ == wire.TypeEvent || r.typ == wire.TypeDone })
		if err != nil {
			return err
		}
		s.v.check("identify-running", ok && more[len(more)-1].typ == wire.TypeEvent, "no event after the table: the run stopped")
	}
	return nil
}

// judgeRun checks the main run's frames: the probe fault, DN, summaries.
func (s *session) judgeRun(run []*rec, goAt, dur uint64, gotDN bool) {
	tol := uint64(s.opt.Tolerance.Microseconds())
	var fb, fe *rec
	gos := 0
	for _, r := range run {
		if r.typ != wire.TypeEvent {
			continue
		}
		switch {
		case r.ev.Kind == wire.EvRun:
			gos++
		case r.ev.Kind == wire.EvFaultBegin && r.ev.Arg == faultProbe:
			if fb != nil {
				s.v.fail("idempotent-ids", "fault %d began twice (%s and %s): the repeated SF was carried out", faultProbe, fb.line, r.line)
			}
			fb = r
		case r.ev.Kind == wire.EvFaultEnd && r.ev.Arg == faultProbe && fe == nil:
			fe = r
		}
	}
	if s.proto >= 2 {
		s.v.check("idempotent-ids", gos == 1, "%d GO events for one GO id sent twice", gos)
	}
	want := goAt + uint64(probeAt.Microseconds())
	if fb == nil {
		s.v.fail("fault-timing", "no FB for fault %d scheduled at %v", faultProbe, probeAt)
		s.v.skip("fault-end", "the probe fault never began")
	} else {
		d := int64(fb.time) - int64(want)
		s.v.check("fault-timing", abs(d) <= int64(tol), "%s: FB %d µs after the GO event, scheduled at %d µs (off by %+d µs, tolerance %d µs)",
			fb.line, fb.time-goAt, probeAt.Microseconds(), d, tol)
		if !s.v.failed("fault-timing") {
			s.v.notes["fault-timing"] = fmt.Sprintf("FB off by %+d µs", d)
		}
		if fe == nil {
			s.v.fail("fault-end", "no FE for fault %d", faultProbe)
		} else {
			s.v.check("fault-end", fe.time >= fb.time+uint64(probeLength.Microseconds()), "%s: FE %d µs after FB, the burst lasts %d µs",
				fe.line, fe.time-fb.time, probeLength.Microseconds())
		}
		if s.proto >= 2 {
			s.v.check("load-task", int(fb.ev.Task) == s.loadTask, "%s: a load burst's FB names task %d, the `load` task is %d", fb.line, fb.ev.Task, s.loadTask)
		}
	}
	dns := 0
	var dn *rec
	for _, r := range run {
		if r.typ == wire.TypeDone {
			dns++
			dn = r
		}
	}
	if !gotDN || dn == nil {
		s.v.fail("done", "no DN within %v of board time after the run's %v", s.opt.Timeout, s.opt.RunLength)
		s.v.skip("summaries", "no DN")
		return
	}
	d := int64(dn.time) - int64(goAt+dur)
	s.v.check("done", d >= 0 && d <= int64(tol), "%s: DN %d µs after the GO event, the run lasts %d µs (tolerance %d µs)", dn.line, dn.time-goAt, dur, tol)
	s.v.check("done", dns == 1, "%d DN frames for one run", dns)
	if s.proto >= 2 {
		s.judgeSummaries(run, goAt, dn)
	}
	s.lastDN = dn
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// judgeSummaries: an SM per own task at GO+1 s, and a final one before DN.
func (s *session) judgeSummaries(run []*rec, goAt uint64, dn *rec) {
	tol := uint64(s.opt.Tolerance.Microseconds())
	second := goAt + 1_000_000
	for _, tk := range s.ownTasks() {
		atSecond, final := false, false
		for _, r := range run {
			if r.typ != wire.TypeSummary || int(r.sm.Task) != tk.Index {
				continue
			}
			if r.time+tol >= second && r.time <= second+tol {
				atSecond = true
			}
			if r.time > second+tol && r.time <= dn.time {
				final = true
			}
		}
		s.v.check("summaries", atSecond, "task %d (%s): no SM at 1 s into the run", tk.Index, tk.Name)
		s.v.check("summaries", final, "task %d (%s): no final SM before DN", tk.Index, tk.Name)
	}
	for i, r := range run {
		if r.typ == wire.TypeSummary && r.time <= dn.time && slices.Index(run, dn) < i {
			s.v.fail("summaries", "%s comes after DN", r.line)
		}
	}
}

// afterRun: the board is idle after DN (no EV or SM), and PG repeats DN.
func (s *session) afterRun() error {
	if s.proto < 2 || s.lastDN == nil {
		return nil
	}
	quiet, _, err := s.collect(listen, nil)
	if err != nil {
		return err
	}
	n := 0
	for _, r := range quiet {
		if r.typ == wire.TypeEvent || r.typ == wire.TypeSummary {
			n++
		}
	}
	s.v.check("idle", n == 0, "%d EV/SM frames within %v after DN", n, listen)
	pg := wire.Command{Type: wire.TypePing}
	a, err := s.command(&pg)
	if err != nil {
		return err
	}
	if a.got {
		rep := slices.ContainsFunc(a.frames, func(r *rec) bool { return r.typ == wire.TypeDone && r.line == s.lastDN.line })
		s.v.check("ping-dn", rep, "%s after the run: no repeat of %s before the AK", name(pg), s.lastDN.line)
	}
	return nil
}

// watchdog starves every task with a load burst above the highest
// priority; the board must reset through its watchdog and keep the events
// before it in its black box.
func (s *session) watchdog() error {
	maxPrio := 0
	for _, tk := range s.ownTasks() {
		maxPrio = max(maxPrio, tk.Priority)
	}
	prev := s.boot
	sf := wire.Command{Type: wire.TypeSchedule, At: uint64(starveAt.Microseconds()),
		Fault: wire.FaultCmd{ID: faultStarve, Kind: wire.FaultLoadBurst, Priority: maxPrio + 1, Length: uint64(starveFor.Microseconds())}}
	if a, err := s.command(&sf); err != nil || !a.ok {
		if err == nil {
			s.v.skip("reset-wdt", fmt.Sprintf("%s: %s", name(sf), ackText(a)))
			s.v.skip("black-box", "no watchdog reset")
		}
		return err
	}
	goc := wire.Command{Type: wire.TypeStart, Duration: uint64((starveFor + time.Second).Microseconds())}
	if a, err := s.command(&goc); err != nil || !a.ok {
		if err == nil {
			return stop("%s: %s", name(goc), ackText(a))
		}
		return err
	}
	var wx *rec
	got, _, err := s.collect(starveFor+time.Second+s.opt.Timeout, func(r *rec) bool {
		if r.typ == wire.TypeEvent && r.ev.Kind == wire.EvWatchdogExpiry {
			wx = r
		}
		return r.typ == wire.TypeBoot && r.fresh || r.typ == wire.TypeDone
	})
	if err != nil {
		return err
	}
	last := got[len(got)-1:]
	if len(last) == 0 || last[0].typ != wire.TypeBoot {
		s.v.skip("reset-wdt", fmt.Sprintf("no reset under a %v load burst above every task: no watchdog, or not kicked by a task", starveFor))
		s.v.skip("black-box", "no watchdog reset")
		return nil
	}
	tbl, err := s.table(last, true)
	if err != nil {
		return err
	}
	b := tbl.boot.boot
	s.v.check("reset-wdt", b.Reason == wire.ReasonWatchdog, "BT after the watchdog expired gives reason %s, want WDT", b.Reason)
	s.v.check("reset-wdt", b.BootCount == prev.boot.BootCount+1, "boot count %d after the reset, the boot before was %d", b.BootCount, prev.boot.BootCount)
	s.v.check("reset-wdt", wx != nil, "no WX event before the reset")
	return s.blackBox(wx)
}

// blackBox reads the black box twice: BX frames indexed from 0, times not
// going back in its last stretch, the last one the WX; the same both times.
func (s *session) blackBox(wx *rec) error {
	dump := func() ([]*rec, bool, error) {
		dp := wire.Command{Type: wire.TypeDump}
		a, err := s.command(&dp)
		if err != nil || !a.got {
			return nil, false, err
		}
		var bx []*rec
		for _, r := range a.frames {
			if r.typ == wire.TypeBlackBox {
				bx = append(bx, r)
			}
		}
		if !a.ok {
			s.v.fail("black-box", "%s: NK %s", name(dp), a.reason)
		}
		return bx, a.ok, nil
	}
	bx, ok, err := dump()
	if err != nil || !ok {
		return err
	}
	if len(bx) == 0 {
		s.v.fail("black-box", "DP after a watchdog reset replays nothing")
		return nil
	}
	for i, r := range bx {
		s.v.check("black-box", r.ev.Seq == uint32(i), "%s: replay index %d, want %d", r.line, r.ev.Seq, i)
	}
	lastBX := bx[len(bx)-1]
	s.v.check("black-box", lastBX.ev.Kind == wire.EvWatchdogExpiry, "the last BX is %s, want the WX before the reset", lastBX.line)
	if wx != nil {
		s.v.check("black-box", lastBX.ev.Time == wx.ev.Time, "the last BX is at %d µs, the WX event was at %d µs", lastBX.ev.Time, wx.ev.Time)
	}
	s.v.note("black-box", "%d BX frames", len(bx))
	if s.proto < 2 {
		return nil
	}
	again, ok, err := dump()
	if err != nil || !ok {
		return err
	}
	same := len(again) == len(bx)
	for i := 0; same && i < len(bx); i++ {
		same = again[i].line == bx[i].line
	}
	s.v.check("black-box", same, "a second DP replayed %d BX frames, the first %d: DP must not consume the black box", len(again), len(bx))
	return nil
}

// stopRun: a run until SP (GO 0), so that the commands sent during it
// reach the board while it runs however fast its clock goes against the
// host's (a board under QEMU's icount idles through a 1.5 s run in a few
// milliseconds): CF is refused busy, ID sends the table and the run goes
// on (v2); then SP ends it (v2: final SM, DN, then the AK).
func (s *session) stopRun() error {
	goc := wire.Command{Type: wire.TypeStart, Duration: 0}
	if a, err := s.command(&goc); err != nil || !a.ok {
		if err == nil {
			return stop("%s: %s", name(goc), ackText(a))
		}
		return err
	}
	goAt, found := uint64(0), false
	if _, _, err := s.collect(s.opt.Timeout, func(r *rec) bool {
		if r.typ == wire.TypeEvent && r.ev.Kind == wire.EvRun {
			goAt, found = r.time, true
		}
		return found && r.time >= goAt+100_000
	}); err != nil {
		return err
	}
	if _, err := s.expectNak(wire.Command{Type: wire.TypeConfig, Key: "trace", Value: "1"}, "busy"); err != nil {
		return err
	}
	if s.proto >= 2 {
		if err := s.identifyRunning(); err != nil {
			return err
		}
	}
	sp := wire.Command{Type: wire.TypeStop}
	a, err := s.command(&sp)
	if err != nil || !a.got {
		return err
	}
	if !s.v.check("stop", a.ok, "%s during a run: NK %s", name(sp), a.reason) || s.proto < 2 {
		return nil
	}
	i := slices.IndexFunc(a.frames, func(r *rec) bool { return r.typ == wire.TypeDone })
	if !s.v.check("stop", i >= 0, "%s during a run: AK without a DN before it", name(sp)) {
		return nil
	}
	dn := a.frames[i]
	for _, tk := range s.ownTasks() {
		s.v.check("stop", slices.ContainsFunc(a.frames[:i], func(r *rec) bool {
			return r.typ == wire.TypeSummary && int(r.sm.Task) == tk.Index && r.time == dn.time
		}), "%s during a run: no final SM of task %d (%s) before DN", name(sp), tk.Index, tk.Name)
	}
	return nil
}
