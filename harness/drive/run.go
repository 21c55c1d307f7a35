package drive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Run drives one run as cfg says on an open target and returns what it
// observed. The observation is returned even with an error: what was seen
// before it (telemetry, resets, console) is kept.
func Run(ctx context.Context, t targets.Target, cfg Config) (*Observation, error) {
	s := newSession(t, &cfg)
	if d, ok := t.(targets.Deterministic); ok && d.Deterministic() {
		s.whole = true
	}
	if _, owns := t.(targets.Clock); !owns {
		s.tick = progressOf(ctx)
	}
	defer func() {
		s.stats()
		s.r.Release()
		if s.host != nil {
			s.obs.Clock = s.host.result()
		}
	}()
	if cfg.BurstPriority != nil {
		s.an.SetBurstPriorities(cfg.BurstPriority)
	}
	// A board that is already up sends no banner: ask for it at once. One
	// still booting ignores the request and sends its banner anyway.
	if err := s.askTable(); err != nil {
		return s.obs, err
	}
	if err := s.awaitBoot(ctx, true); err != nil {
		return s.obs, err
	}
	if cfg.Plan != nil {
		src, err := cfg.Plan(&s.obs.Table)
		if err != nil {
			return s.obs, err
		}
		s.src = src
	} else {
		cmds, err := s.resolveFaults()
		if err != nil {
			return s.obs, err
		}
		s.src = &sliceSource{faults: cfg.Faults, cmds: cmds}
	}
	total := cfg.Duration
	for {
		if !s.everGo && s.obs.ResetCount > maxResetsBeforeGo {
			return s.obs, s.infra("the board reset %d times before a run could start", s.obs.ResetCount)
		}
		if !s.ready() {
			if err := s.awaitBoot(ctx, false); err != nil {
				if s.power.pending && ctx.Err() == nil {
					s.finish()
					return s.obs, s.powerSilence(err)
				}
				if s.bootTimedOut && s.obs.ResetCount > 0 {
					// Silence after a reset on a live link: the board did
					// not come back. The run up to the reset stands.
					s.finish()
					return s.obs, &BrickError{Target: s.t.Name(), After: s.lastReset, AtUS: s.lastRun, Timeout: s.to.Boot}
				}
				return s.obs, err
			}
		}
		if s.resetNew && s.lastReset == ResetWatchdog && s.obs.ResetCount <= MaxBlackBoxes && s.obs.BlackBoxes[s.obs.ResetCount-1] == nil {
			if err := s.blackBox(ctx); err != nil {
				if errors.Is(err, errReset) {
					continue
				}
				return s.obs, err
			}
		}
		if s.stale {
			if err := s.stopStale(ctx); err != nil {
				if errors.Is(err, errReset) {
					continue
				}
				return s.obs, err
			}
		}
		if !s.configured {
			err := s.request(ctx, wire.Command{Type: wire.TypeConfig, Key: "trace", Value: fmt.Sprint(s.trace)}, "CF trace")
			if errors.Is(err, errReset) {
				continue
			}
			var re *RefusedError
			if errors.As(err, &re) && re.Reason == "busy" && s.busyStops < maxBusyStops {
				// A run this host did not start: a stale GO copy that
				// crossed a reboot unseen, or a board another host left
				// running. Stop it and configure again.
				s.busyStops++
				s.stale = true
				continue
			}
			if err != nil {
				return s.obs, err
			}
			s.configured = true
		}
		// Where the run stands: 0 at the first start, the reset moment plus
		// the board's uptime since after a reset.
		now := s.base
		if s.resetNew {
			now = s.base + int64(s.boot.Uptime)
		}
		remaining := total - now
		if remaining <= 0 {
			// The board time passed in reboots and re-arming: the run
			// reached its end there, after its last event.
			s.lastRun = max(s.lastRun, now)
			break
		}
		if err := s.arm(ctx, now, remaining, hyperperiod(&s.obs.Table)); err != nil {
			if errors.Is(err, errReset) {
				continue
			}
			return s.obs, err
		}
		s.resetNew = false
		err := s.observe(ctx)
		for errors.Is(err, errTimeout) {
			// Silence: a hang, a lost DN or banner, or a board that
			// was only stalled and talks again when asked.
			resumed, serr := s.silence(ctx)
			if serr != nil {
				return s.obs, serr
			}
			if !resumed {
				break
			}
			err = s.observe(ctx)
		}
		switch {
		case err == nil && s.done:
			return s.finish(), nil
		case err == nil && s.resetNew:
			// The board reset: the loop waits for its table and re-arms
			// what is left.
		case errors.Is(err, errTimeout):
			if s.done {
				return s.finish(), nil
			}
		default:
			if ctx.Err() != nil {
				s.command(wire.Command{Type: wire.TypeStop}, "SP") //nolint:errcheck // best effort on the way out
			}
			s.obs.EndUS = s.lastRun
			return s.obs, err
		}
	}
	return s.finish(), nil
}

// maxBusyStops bounds the SPs sent because CF was refused busy: a board
// that stays busy after SP is broken, and the refusal ends the run.
const maxBusyStops = 3

// stopStale ends whatever the board does that this host did not ask for
// in its current boot: a run started, or faults scheduled, by copies of
// commands sent before the host saw the reboot (PROTOCOL.md 2.2). SP with
// a new id ends a run (its DN is not the host's run's: no GO was sent in
// this boot) and discards scheduled faults; an idle v2 board answers AK.
// A v1 board may refuse SP on an idle board, which is as good.
func (s *session) stopStale(ctx context.Context) error {
	err := s.request(ctx, wire.Command{Type: wire.TypeStop}, "SP (stale commands)")
	var re *RefusedError
	if err != nil && !errors.As(err, &re) {
		return err
	}
	s.stale = false
	return nil
}

// maxResetsBeforeGo bounds the reboots the driver sits through before the
// first GO: a board that never stays up long enough to be started.
const maxResetsBeforeGo = 20

// silence handles a board that stopped talking during a run. A v2 board is
// asked who it is (ID): a banner of a new boot is a reboot whose banner was
// lost; the same boot with the run's board time passed is a run whose DN
// was lost (PG makes the board repeat it). A board that answers nothing is
// hung: it is reset.
//
// A board whose run events come again while it is asked was stalled, not
// hung (QEMU's CPU asleep with its wake-up lost, a port that held its
// bytes): resumed is true, and the run is observed on. So is a run whose
// DN came in meanwhile (done).
func (s *session) silence(ctx context.Context) (resumed bool, err error) {
	resets := s.obs.ResetCount
	lastRun := s.lastRun
	// talked: the run ended or went on while the board was asked.
	talked := func() bool {
		return s.obs.ResetCount == resets && (s.done || (s.running && s.lastRun > lastRun))
	}
	alive := false        // the board answered a command
	boardNow := int64(-1) // run time now by the board's clock, if a banner said
	if s.boot.Proto >= wire.ProtoV2 {
		uptime := s.boot.Uptime
		s.askedAt = s.clk.Now()
		err := s.request(ctx, wire.Command{Type: wire.TypeIdentify}, "ID")
		if err == nil || errors.Is(err, errReset) {
			// The banner follows the AK; wait for it a little (on a
			// noisy line it may be lost: the AK says the board lives).
			s.pump(ctx, s.clk.Now().Add(2*s.retry), func() bool { //nolint:errcheck // a timeout here is an answer too
				return s.obs.ResetCount != resets || s.boot.Uptime != uptime
			})
		}
		if s.obs.ResetCount != resets {
			return false, nil // rebooted: the loop re-arms
		}
		alive = err == nil
		if alive && s.boot.Uptime != uptime {
			boardNow = s.base + int64(s.boot.Uptime) - s.origin
		}
	}
	if talked() {
		return s.stalled(), nil
	}
	if !alive {
		// A v1 board, or no answer to ID: does it answer a ping?
		id, err := s.command(wire.Command{Type: wire.TypePing}, "PG")
		if err != nil {
			return false, err
		}
		if err := s.await(ctx, "PG", id); err == nil {
			alive = true
		} else if errors.Is(err, errReset) {
			return false, nil
		}
	}
	if alive && s.running {
		if boardNow < 0 {
			// The board time now, from the host clock since the last
			// event: good to the link's latency.
			boardNow = s.lastRun + int64(s.hostUS()-s.lastEvHost)
		}
		if boardNow >= s.segEnd-int64(s.to.Liveness/time.Microsecond) {
			// The run is over and its DN was lost: a v2 board repeats
			// it for a ping; time says so for the others.
			if err := s.probeDone(ctx); err != nil {
				return false, err
			}
			if !s.done && s.obs.ResetCount == resets {
				s.lastRun = max(s.lastRun, min(boardNow, s.segEnd))
				s.running, s.done = false, true
			}
			return false, nil
		}
	}
	if talked() {
		return s.stalled(), nil
	}
	// Silence while the board should talk: a hang. Reset it.
	s.resetSeen(ResetHang, "", 0)
	s.newBoot()
	if r, ok := s.t.(targets.Resetter); ok {
		if err := r.ResetBoard(); err != nil {
			return false, s.infra("reset after hang: %v", err)
		}
		s.rsIDs = append(s.rsIDs, 0) // the banner that follows answers the reset
		s.booted = false
		return false, nil
	}
	id, err := s.command(wire.Command{Type: wire.TypeReset}, "RS")
	if err != nil {
		return false, err
	}
	s.rsIDs = append(s.rsIDs, id)
	s.booted = false
	return false, nil
}

// stalled notes a board that talked again when asked, after a silence
// longer than the liveness timeout; it reports whether the run goes on.
func (s *session) stalled() bool {
	s.obs.Telemetry.Stalls++
	return !s.done
}

// probeDone pings the board whose run should be over: a v2 board repeats
// its DN before the AK.
func (s *session) probeDone(ctx context.Context) error {
	id, err := s.command(wire.Command{Type: wire.TypePing}, "PG")
	if err != nil {
		return err
	}
	s.probe = id
	err = s.pump(ctx, s.clk.Now().Add(s.to.Boot+s.retry), func() bool { return s.done || s.probe == 0 || s.resetNew })
	if errors.Is(err, errTimeout) {
		return nil
	}
	return err
}

// blackBox asks the board that just came back from a watchdog reset for
// the events it recorded before it (DP: BX frames, then AK), and keeps them
// with the reset, on run time.
func (s *session) blackBox(ctx context.Context) error {
	s.box = s.box[:0]
	slot := s.obs.ResetCount - 1
	byIndex := map[uint32]wire.Event{}
	top := uint32(0)
	// DP does not consume the box: BX frames lost on the line are filled
	// in from another copy, keyed by their replay index.
	for try := 0; try < 3; try++ {
		s.box = s.box[:0]
		if err := s.request(ctx, wire.Command{Type: wire.TypeDump}, "DP"); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				s.obs.BlackBoxes[slot] = []wire.Event{} // a board without a black box
				return nil
			}
			return err
		}
		for _, ev := range s.box {
			byIndex[ev.Seq] = ev
			top = max(top, ev.Seq)
		}
		if len(byIndex) == int(top)+1 {
			break
		}
	}
	s.box = s.box[:0]
	for i := uint32(0); i <= top && len(byIndex) > 0; i++ {
		if ev, ok := byIndex[i]; ok {
			s.box = append(s.box, ev)
		}
	}
	// The ring can still hold events of earlier boots (each on its own
	// clock): keep the last boot's, where time never goes back. A BX lost
	// on the line shows as a gap in the replay indices: keep what follows
	// it only.
	from := len(s.box)
	for from > 0 && (from == len(s.box) || (s.box[from-1].Time <= s.box[from].Time && s.box[from-1].Seq+1 == s.box[from].Seq)) {
		from--
	}
	box := make([]wire.Event, 0, len(s.box)-from)
	for _, ev := range s.box[from:] {
		ev.Time = uint64(s.prevBase + int64(ev.Time) - s.prevOrigin) // now run time
		box = append(box, ev)
	}
	s.obs.BlackBoxes[slot] = box
	return nil
}

// Fault upload: the board fires each fault from its own clock, so only
// the faults of the next uploadLead of run time (and at least uploadMin)
// need to be on the board. Topping the queue up while the run goes keeps
// the board's memory and the harness's flat however long the run.
//
// A deterministic target (targets.Deterministic: QEMU with icount) gets
// the whole plan of the segment before GO instead, and no byte while the
// run goes: a top-up would reach the board at an instruction count the
// host's scheduling chose, and two runs with one seed would differ. A plan
// larger than the board's fault table fails before GO (awaitWhole).
const (
	uploadLead = 2_000_000 // µs of run time
	uploadMin  = 8
	// maxUnanswered is how many commands may wait for an answer at once:
	// a v2 board remembers at least 32 answered ids.
	maxUnanswered = 16
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
func (s *session) arm(ctx context.Context, now, remaining, hyper int64) error {
	planNow := now
	if now > 0 && hyper > 0 {
		planNow = (now + hyper/2) / hyper * hyper
	}
	s.qNext, s.segStart, s.shift = s.consumed, planNow, planNow-now
	s.skipPlanned(planNow)
	s.qFired = s.qNext
	s.planEnd = planNow + remaining
	for {
		ids, err := s.upload(now, maxUnanswered, false)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		if s.whole {
			err = s.awaitWhole(ctx, ids, remaining)
		} else {
			err = s.await(ctx, "SF schedule", ids...)
		}
		if err != nil {
			return err
		}
	}
	if s.whole && !s.everGo {
		// Before the first GO only: after a reset the board time spent
		// re-arming is run time, and a wait would lengthen the run.
		if err := s.steadyClock(ctx, remaining); err != nil {
			return err
		}
	}
	s.done = false
	s.probe = 0
	// A run longer than a board's clock is asked to bear runs until SP
	// (GO 0), and the host stops it when its time is up.
	goUS := uint64(remaining)
	s.stopAt = -1
	if remaining >= maxGO {
		goUS, s.stopAt = 0, now+remaining
	}
	s.goSent = true
	if err := s.request(ctx, wire.Command{Type: wire.TypeStart, Duration: goUS}, "GO"); err != nil {
		return err
	}
	if !s.running {
		s.goPending, s.goAckHost, s.goDur = true, s.hostUS(), remaining
	}
	return nil
}

// maxGO is the longest run a GO command asks of a board (2^50 µs, about
// 35 years, what the reference model accepts); longer runs go until SP.
const maxGO = 1 << 50

// queued is one firing in the driver's window.
type queued struct {
	AtUS int64 // plan time
	Cmd  wire.FaultCmd
}

// have reports whether the window holds firing i, generating firings up
// to it when needed.
func (s *session) have(i int) bool {
	for len(s.queue) <= i && !s.srcDone {
		if s.hostFull() {
			break // power cycles queued past the horizon: later
		}
		f, fc, ok := s.src.Next()
		if !ok {
			s.srcDone = true
			break
		}
		if f.Power {
			s.queueHost(f)
			continue
		}
		s.queue = append(s.queue, queued{AtUS: f.AtUS, Cmd: fc})
	}
	return i < len(s.queue)
}

// keepBehind is how many spent firings the window keeps behind qFired.
const keepBehind = 64

// compact drops spent firings from the front of the window, so a run of
// any length keeps only the next few seconds of its plan. It runs while
// the board runs, when the firings before qFired are spent for good: a
// reset uploads again only from the qFired it happens at.
func (s *session) compact() {
	d := s.qFired - keepBehind
	if d < 4096 {
		return
	}
	s.queue = append(s.queue[:0], s.queue[d:]...)
	s.consumed = max(s.consumed-d, 0)
	s.qFired -= d
	s.qNext -= d
}

// upload sends at most limit of the queued faults due before
// runTime+uploadLead, keeping at least uploadMin on the board; on a
// deterministic target, those due before the segment's end.
func (s *session) upload(runTime int64, limit int, async bool) ([]uint32, error) {
	var ids []uint32
	for len(ids) < limit && s.have(s.qNext) && s.wanted(runTime) {
		q := &s.queue[s.qNext]
		id, err := s.command(wire.Command{Type: wire.TypeSchedule, At: uint64(q.AtUS - s.segStart), Fault: q.Cmd}, "SF schedule")
		if err != nil {
			return ids, err
		}
		// The analyzer reconciles the firing with the board's FB event.
		s.an.ExpectFault(q.Cmd.ID, q.AtUS-s.segStart, beginWindow(&s.obs.Table, q.Cmd))
		s.pend[id].async = async
		ids = append(ids, id)
		s.qNext++
	}
	return ids, nil
}

// wanted reports whether the next queued firing is to go to the board now.
func (s *session) wanted(runTime int64) bool {
	at := s.queue[s.qNext].AtUS
	if s.whole {
		return at < s.planEnd
	}
	return at < runTime+s.shift+uploadLead || s.qNext-s.qFired < uploadMin
}

// awaitWhole waits for the answers to one batch of a whole plan's SFs. A
// board without room for the plan (NK full) fails the run before GO, with
// how many faults the board held and how many the plan has: on a
// deterministic target the driver does not top the table up during the
// run, which would make the run unrepeatable.
func (s *session) awaitWhole(ctx context.Context, ids []uint32, remaining int64) error {
	resets := s.obs.ResetCount
	// Every answer of the batch first, to count the refusals; await then
	// collects them (and reports a timeout or a reboot).
	s.pump(ctx, s.clk.Now().Add(s.to.Boot+s.retry), func() bool { //nolint:errcheck // await reports it
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
	full := 0
	for _, id := range ids {
		if r, ok := s.answers[id]; ok && r == "full" {
			full++
		}
	}
	err := s.await(ctx, "SF schedule", ids...)
	var re *RefusedError
	if full == 0 || !errors.As(err, &re) {
		return err
	}
	held := s.qNext - s.qFired - full
	total := 0
	for i := s.qFired; s.have(i) && s.queue[i].AtUS < s.planEnd; i++ {
		total++
	}
	re.Reason = fmt.Sprintf("full: the board holds %d scheduled faults and the %.3f s of run ahead plan %d firings. "+
		"The target is deterministic (QEMU icount): the whole plan goes to the board before GO and nothing during the run, "+
		"so that the run repeats exactly. Plan at most %d firings per run (shorter runs, fewer faults), "+
		"or run without icount (the plan is then topped up during the run)",
		held, float64(remaining)/1e6, total, held)
	return re
}

// clockSlack is the board time steadyStart allows for GO's way to the
// board and the run's start after it (µs).
const clockSlack = 1_000_000

// nextWidth is the least power of ten above u: the uptime (µs) at which
// the board's timestamps grow by a decimal digit.
func nextWidth(u int64) int64 {
	p := int64(10)
	for p <= u {
		p *= 10
	}
	return p
}

// steadyStart returns the board uptime (µs) from which a run of d µs can
// start so that every timestamp it sends has the same number of decimal
// digits: 0 when a start at uptime u (now) already does, -1 when the wait
// would be longer than the run itself (and than 10 s).
//
// Why: a board encodes its frames as it records them, and a timestamp
// with one more digit costs some more instructions in the task that
// records it. Under QEMU's icount that moves every later event of the run
// by a µs or so from the moment the uptime crosses 10 s (or 100 s...), and
// the uptime at GO is the host's doing: two runs that cross at different
// run times are not the same run.
func steadyStart(u, d int64) int64 {
	if nextWidth(u) > u+clockSlack+d {
		return 0
	}
	p := nextWidth(u)
	for p+clockSlack+d >= 10*p {
		p *= 10
	}
	if p-u > max(d, 10_000_000) {
		return -1
	}
	return p
}

// maxClockPolls bounds the ID commands steadyClock sends.
const maxClockPolls = 1000

// steadyClock delays GO on a deterministic target until the board's clock
// is where the run's timestamps keep their width (steadyStart). It asks
// the board's uptime with ID (a version-2 board answers with its banner);
// a version-1 board cannot say, and its run starts at once.
func (s *session) steadyClock(ctx context.Context, d int64) error {
	if s.boot.Proto < wire.ProtoV2 {
		return nil
	}
	for range maxClockPolls {
		uptime, resets := s.boot.Uptime, s.obs.ResetCount
		s.askedAt = s.clk.Now()
		if err := s.request(ctx, wire.Command{Type: wire.TypeIdentify}, "ID (board clock)"); err != nil {
			return err
		}
		err := s.pump(ctx, s.clk.Now().Add(2*s.retry), func() bool {
			return s.obs.ResetCount != resets || s.boot.Uptime != uptime
		})
		if err != nil && !errors.Is(err, errTimeout) {
			return err
		}
		if s.obs.ResetCount != resets {
			return errReset
		}
		if s.boot.Uptime == uptime {
			return nil // the banner was lost: start as it stands
		}
		if at := steadyStart(int64(s.boot.Uptime), d); at <= 0 || int64(s.boot.Uptime) >= at {
			return nil
		}
		// The board idles towards the uptime; ask again a little later.
		if err := s.pump(ctx, s.clk.Now().Add(s.retry), func() bool { return s.obs.ResetCount != resets }); err != nil && !errors.Is(err, errTimeout) {
			return err
		}
		if s.obs.ResetCount != resets {
			return errReset
		}
	}
	return nil
}

// refill tops the board's fault queue up during a run; the answers are
// checked as they arrive.
func (s *session) refill() error {
	for s.qFired < s.qNext && s.queue[s.qFired].AtUS <= s.lastRun+s.shift {
		s.qFired++
	}
	s.compact()
	if s.qNext-s.qFired >= uploadMin && (!s.have(s.qNext) || s.queue[s.qNext].AtUS >= s.lastRun+s.shift+uploadLead) {
		s.noteIdle()
		return nil
	}
	_, err := s.upload(s.lastRun, maxUnanswered-len(s.pend), true)
	s.noteIdle()
	return err
}

// noteIdle works out, after refill, up to which lastRun+shift another
// refill would change nothing: no firing comes due (qFired stays), and
// the next one to upload (already in the window) is not within
// uploadLead, with uploadMin on the board. That holds while qFired, qNext
// and shift keep their values: every change to them (upload, arm, a
// reset, a skip) makes idleNow false, and the window only changes below
// qFired (compact, from refill) or past its end (have) otherwise.
func (s *session) noteIdle() {
	s.idle = s.qNext-s.qFired >= uploadMin && s.qNext < len(s.queue) && s.qFired-keepBehind < 4096
	if !s.idle {
		return
	}
	s.idleFired, s.idleNext, s.idleShift = s.qFired, s.qNext, s.shift
	s.idleUpTo = min(s.queue[s.qFired].AtUS-1, s.queue[s.qNext].AtUS-uploadLead)
}

// idleNow reports whether refill would change nothing now (noteIdle).
func (s *session) idleNow() bool {
	return s.idle && s.qFired == s.idleFired && s.qNext == s.idleNext && s.shift == s.idleShift &&
		s.lastRun+s.shift <= s.idleUpTo
}

// observe reads the run until the board says it is done, resets, or falls
// silent for longer than the liveness timeout.
func (s *session) observe(ctx context.Context) error {
	check := 0
	for !s.done && !s.resetNew {
		deadline := s.clk.Now().Add(s.to.Liveness)
		frames := s.r.Stats().Frames
		for !s.done && !s.resetNew {
			d := deadline
			probeAt := time.Time{}
			if s.running && s.lastRun >= s.segEnd && s.probe == 0 && !s.whole {
				// The run's board time has passed and no DN yet: ask
				// soon, not after the liveness timeout. Not on a
				// deterministic target, whose lossless link brings DN
				// after the run's last events: a ping crossing it
				// would make the board send DN twice.
				probeAt = s.clk.Now().Add(s.retry)
				if probeAt.Before(d) {
					d = probeAt
				}
			}
			powerAt, powerDue := s.powerDue()
			if powerDue && powerAt.Before(d) {
				d = powerAt
			}
			f, err := s.next(d)
			timeout := err != nil && errors.Is(err, errTimeout) // once: nearly every call is a frame
			if timeout && powerDue && d.Equal(powerAt) {
				if err := s.firePower(ctx); err != nil {
					return err
				}
				continue
			}
			if timeout && !probeAt.IsZero() && d.Equal(probeAt) {
				id, err := s.command(wire.Command{Type: wire.TypePing}, "PG")
				if err != nil {
					return err
				}
				s.probe = id
				continue
			}
			if timeout && s.r.Stats().Frames != frames {
				break // frames came in since the deadline was set: not silence
			}
			if err != nil {
				return err
			}
			s.dispatch(f)
			if s.refused != nil {
				return s.refused
			}
			if s.powerByEvent() {
				if err := s.firePower(ctx); err != nil {
					return err
				}
				continue
			}
			if s.stopAt >= 0 && s.running && s.lastRun >= s.stopAt {
				if _, err := s.command(wire.Command{Type: wire.TypeStop}, "SP"); err != nil {
					return err
				}
				s.running, s.done = false, true
			}
			if !s.idleNow() && (s.qNext < len(s.queue) || !s.srcDone) && s.running && len(s.pend) < maxUnanswered && !s.whole {
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

// beginWindow is how long after its firing time a fault may begin on the
// board: a lock hold begins at the task's next critical section on the
// lock, within one period of the task.
func beginWindow(tbl *wire.Table, fc wire.FaultCmd) int64 {
	if fc.Kind != wire.FaultLockHold {
		return 0
	}
	for _, tk := range tbl.Tasks {
		if tk.Index == fc.Task {
			return tk.Period
		}
	}
	return 0
}
