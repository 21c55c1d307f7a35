package analyze

import "math"

// Fault reconciliation: the plan promised firings, the board reports each
// fault it begins with an FB event. Every firing the driver uploaded is
// matched with the FB of its id within FaultTolerance of board time; one
// without its FB in time is missing, and a run with a missing firing has
// no evidence that the chaos happened (docs/SCORING.md, "Evidence").
//
// Memory stays bounded by the firings uploaded and not yet due: the driver
// uploads a couple of seconds ahead, and each firing is settled once its
// time plus the tolerance has passed.

// DefaultFaultTolerance is how far (µs of board time) an FB may be from
// the firing's planned run time and still reconcile with it: a board with
// a 100 Hz tick fires up to 10 ms late.
const DefaultFaultTolerance = 10_000

// MaxMissingFaults is how many missing firings (the first ones) are listed
// one by one; FaultCheck.Missing counts them all.
const MaxMissingFaults = 100

// MissingFault is a planned firing the board did not report beginning in
// time.
type MissingFault struct {
	ID         uint32 `json:"id"`
	ExpectedUS int64  `json:"expected_us"`     // run time the plan put it at
	BegunUS    int64  `json:"begun_us"`        // run time of its FB, -1 none
	Why        string `json:"why,omitempty"`   // no FB, or early/late by how much
	Fault      string `json:"fault,omitempty"` // the campaign fault's name, filled by the caller
}

// FaultCheck is the reconciliation of a run's firings with the board's FB
// events.
type FaultCheck struct {
	Expected  uint64         `json:"expected"`  // firings uploaded and due before the run ended
	Begun     uint64         `json:"begun"`     // of those, reconciled with their FB
	Excused   uint64         `json:"excused"`   // due inside a gap or just before a reset: not known either way
	Missing   uint64         `json:"missing"`   // without an FB in time
	Unplanned uint64         `json:"unplanned"` // FB events of no expected firing
	List      []MissingFault `json:"list,omitempty"`
	Tolerance int64          `json:"tolerance_us"`
}

type expectation struct {
	id    uint32
	late  int64 // how long after at the FB may come and still be in time
	at    int64 // run time; until the segment's GO is seen, µs after it
	begun int64 // -1 until its FB
	done  bool
}

type faultBook struct {
	tol     int64
	queue   []expectation // by expected time; settled ones popped from the front
	head    int
	pending map[uint32]int // id -> index in queue of the unsettled expectation
	check   FaultCheck
	gapFrom int64          // run time a gap began, -1 none open
	goAt    int64          // run time of this boot's GO event, -1 until it comes
	listed  map[uint32]int // id -> index in check.List, for an FB that comes after all
}

// SetFaultTolerance changes DefaultFaultTolerance for this run.
func (a *Analyzer) SetFaultTolerance(us int64) {
	a.book().tol = us
	a.fq = false
}

func (a *Analyzer) book() *faultBook {
	if a.faults == nil {
		a.faults = &faultBook{tol: DefaultFaultTolerance, pending: map[uint32]int{}, gapFrom: -1, goAt: -1}
	}
	return a.faults
}

// ExpectFault tells the analyzer that the board was given fault id to fire
// afterGO µs after the GO that starts (or started) the current boot's run,
// as the SF command says. window is how long after that the fault may
// begin: 0 for a fault that begins when it fires (a load burst), the
// task's period for a lock hold (it begins at the task's next critical
// section on the lock). The driver calls it for every firing it uploads,
// in upload order.
func (a *Analyzer) ExpectFault(id uint32, afterGO, window int64) {
	b := a.book()
	a.fq = false
	if i, ok := b.pending[id]; ok {
		// Uploaded again (after a reset): the new time stands.
		b.queue[i].done = true
	}
	at := afterGO
	if b.goAt >= 0 {
		at += b.goAt
	}
	b.pending[id] = len(b.queue)
	b.queue = append(b.queue, expectation{id: id, at: at, late: max(window, 0), begun: -1})
}

// faultsGo notes the run's GO event at run time t: the firings uploaded
// before it are due relative to it.
func (a *Analyzer) faultsGo(t int64) {
	b := a.faults
	if b == nil || b.goAt >= 0 {
		return
	}
	a.fq = false
	b.goAt = t
	for i := b.head; i < len(b.queue); i++ {
		b.queue[i].at += t
	}
}

// faultBegun matches an FB event at run time t.
func (a *Analyzer) faultBegun(t int64, id uint32) {
	b := a.book()
	i, ok := b.pending[id]
	if !ok {
		if k, late := b.listed[id]; late && b.check.List[k].BegunUS < 0 {
			// Settled missing when its time had passed: it began after all,
			// too late.
			m := &b.check.List[k]
			m.BegunUS, m.Why = t, "FB late by "+us(t-m.ExpectedUS)
			delete(b.listed, id)
			return
		}
		b.check.Unplanned++
		return
	}
	e := &b.queue[i]
	if b.goAt < 0 {
		// The segment's GO event was lost: the fault began, when it was
		// due is unknown.
		a.settle(e, true, false)
		return
	}
	e.begun = t
	a.settle(e, t-e.at <= b.tol+e.late && e.at-t <= b.tol, false)
}

// settle records an expectation's outcome.
func (a *Analyzer) settle(e *expectation, begun, excused bool) {
	b := a.faults
	if e.done {
		return
	}
	a.fq = false
	e.done = true
	delete(b.pending, e.id)
	b.check.Expected++
	switch {
	case begun:
		b.check.Begun++
	case excused:
		b.check.Excused++
	default:
		b.check.Missing++
		if len(b.check.List) < MaxMissingFaults {
			m := MissingFault{ID: e.id, ExpectedUS: e.at, BegunUS: e.begun, Why: "no FB event"}
			if e.begun >= 0 {
				d := e.begun - e.at
				if d > 0 {
					m.Why = "FB late by " + us(d)
				} else {
					m.Why = "FB early by " + us(-d)
				}
			}
			if b.listed == nil {
				b.listed = map[uint32]int{}
			}
			b.listed[e.id] = len(b.check.List)
			b.check.List = append(b.check.List, m)
		}
	}
}

// faultsUpTo settles every expectation whose time plus the tolerance is
// before t: its FB should have come. Called with each event's time.
func (a *Analyzer) faultsUpTo(t int64) {
	if a.fq && t <= a.fqUpTo {
		return // nothing would change (faultsQuiet)
	}
	b := a.faults
	if b == nil || b.goAt < 0 {
		return
	}
	if b.gapFrom >= 0 {
		// Events were lost from gapFrom to t: an FB may have been among
		// them. Firings due in there are excused.
		for i := b.head; i < len(b.queue) && b.queue[i].at <= t+b.tol; i++ {
			if e := &b.queue[i]; !e.done && e.at+e.late >= b.gapFrom-b.tol {
				a.settle(e, false, true)
			}
		}
		b.gapFrom = -1
	}
	for b.head < len(b.queue) {
		e := &b.queue[b.head]
		if !e.done {
			if e.at+e.late+b.tol >= t {
				break
			}
			a.settle(e, false, false)
		}
		b.head++
	}
	if b.head > 64 && b.head*2 > len(b.queue) {
		n := copy(b.queue, b.queue[b.head:])
		b.queue = b.queue[:n]
		for i := range b.queue {
			if !b.queue[i].done {
				b.pending[b.queue[i].id] = i
			}
		}
		b.head = 0
	}
	a.faultsQuiet()
}

// faultsQuiet works out, after faultsUpTo, up to which time another call
// would change nothing: no gap to excuse, the first unsettled
// expectation not yet late, and the queue not due for compaction. Every
// change to the book (ExpectFault, faultsGo, settle, Gap, faultsReset,
// faultsFinish, SetFaultTolerance) clears fq; faultsUpTo then does the
// whole work again. The driver calls faultsUpTo with every event, and
// nearly every call finds nothing due.
func (a *Analyzer) faultsQuiet() {
	b := a.faults
	a.fq = false
	if b.gapFrom >= 0 || b.head > 64 && b.head*2 > len(b.queue) {
		return
	}
	if b.head == len(b.queue) {
		a.fq, a.fqUpTo = true, math.MaxInt64
		return
	}
	if e := &b.queue[b.head]; !e.done {
		a.fq, a.fqUpTo = true, e.at+e.late+b.tol
	}
}

// faultsReset settles the expectations at a reset at t: those due before
// t minus the tolerance should have begun; later ones died with the board
// (the driver uploads them again or skips them) and are dropped.
func (a *Analyzer) faultsReset(t int64) {
	b := a.faults
	if b == nil {
		return
	}
	a.faultsUpTo(t)
	a.fq = false
	for i := b.head; i < len(b.queue); i++ {
		if e := &b.queue[i]; !e.done {
			switch {
			case b.goAt < 0: // never started: nothing was due
				e.done = true
				delete(b.pending, e.id)
			case e.at+e.late < t-b.tol:
				a.settle(e, false, false)
			case e.at <= t:
				a.settle(e, false, true)
			default:
				e.done = true
				delete(b.pending, e.id)
			}
		}
	}
	b.queue, b.head, b.goAt = b.queue[:0], 0, -1
}

// faultsFinish settles what is due by the end of the run at t; firings
// planned after it were never due.
func (a *Analyzer) faultsFinish(t int64) {
	b := a.faults
	if b == nil {
		return
	}
	a.faultsUpTo(t)
	a.fq = false
	for i := b.head; i < len(b.queue) && b.goAt >= 0; i++ {
		if e := &b.queue[i]; !e.done {
			if e.at+e.late < t-b.tol {
				a.settle(e, false, false)
			} else if e.at <= t {
				a.settle(e, false, true)
			}
		}
	}
	b.queue, b.head = b.queue[:0], 0
	clear(b.pending)
}

// Faults returns the reconciliation of the expected firings with the FB
// events so far (complete after Finish).
func (a *Analyzer) Faults() FaultCheck {
	c := a.book().check
	c.Tolerance = a.faults.tol
	c.List = append([]MissingFault(nil), c.List...)
	return c
}

// Done tells the analyzer the board reported the run's end (DN) at run
// time t.
func (a *Analyzer) Done(t int64) { a.reached = max(a.reached, t) }

// ReachedUS is the latest run time the board showed: its last event, or the
// end of run it reported (Done).
func (a *Analyzer) ReachedUS() int64 { return max(a.reached, a.lastT) }
