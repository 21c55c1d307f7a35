package firmware

import (
	"math/bits"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// This file is the discrete-event kernel: a heap of timers keyed by
// (time, sequence), one CPU running the most urgent ready job, mutexes with
// a selectable protocol, and the fault hooks. Everything happens in the
// caller's goroutine, in virtual time.

const never = int64(1<<63 - 1)

// Timer kinds.
const (
	tmBoot     uint8 = iota // boot banner; arg = reason index
	tmRelease               // release a job of task idx
	tmDeadline              // check job arg of task idx against its deadline
	tmFault                 // fire stored fault idx
	tmSummary               // SM round
	tmRunEnd                // the run has lasted its duration
	tmStorm                 // an interrupt of irq storm idx
	tmStormEnd              // irq storm idx ends
)

// storm is an irq storm under way.
type storm struct {
	id     uint32
	period int64 // ns
	end    int64 // ns, board time
}

type timer struct {
	at   int64
	seq  uint64
	kind uint8
	idx  int32
	arg  int64
}

func (a *timer) less(b *timer) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// timerHeap is a binary min-heap; hand-written to avoid interface calls.
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	// Sift up with a hole: parents move down, t is written once.
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(&s[p]) {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = t
}

func (h *timerHeap) pop() timer {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	*h = s[:n]
	if n > 0 {
		h.siftDown(last)
	}
	return top
}

// siftDown puts t at the root of the non-empty heap h, whose old root is
// dropped, and sifts it down with a hole: children move up, t is written
// once.
func (h timerHeap) siftDown(t timer) {
	n := len(h)
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			m = r
		}
		if !h[m].less(&t) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = t
}

// seg is a compiled body segment; times in µs.
type seg struct {
	kind        SegKind
	lock        int32
	best, worst int64
}

type task struct {
	name             string
	prio             int
	period, deadline int64 // ns
	offset           int64 // ns
	body             []seg
	kicks            bool
	wcet             int64  // µs
	queue            []*job // unfinished jobs, oldest first; queue[0] is the active one
	released, done   int64  // job counters of this run
	smJobs, smMisses uint32
	smMax            int64 // ns
	lh               []lockHold
	usesLocks        uint64 // bitmask
}

// lockHold is a pending or active lock-hold fault on a task.
type lockHold struct {
	id      uint32
	lock    int32
	extra   int64 // ns
	active  bool  // FB emitted: it lengthens the current critical section
	applied bool  // its extra compute has been scheduled before the unlock
}

type job struct {
	task      int32
	num       int64 // job number, from 0 at GO
	release   int64
	pc        int32
	rem       int64 // ns of the current compute left (while not on the CPU)
	base, eff int
	blocked   int32 // lock index, or -1
	started   bool
	missed    bool
	readySeq  uint64
	held      uint64 // bitmask of locks held
	fault     uint32 // load bursts: the fault id
	body      []seg
}

type mutex struct {
	holder  *job
	waiters []*job
	ceiling int
}

// storedFault is a fault scheduled with SF.
type storedFault struct {
	at uint64 // µs after GO
	f  wire.FaultCmd
}

// Event levels: the lowest trace level at which a kind is sent.
var kindLevel = [...]int{
	wire.EvRelease: 1, wire.EvStart: 2, wire.EvEnd: 1, wire.EvBlock: 1,
	wire.EvLock: 1, wire.EvUnlock: 1, wire.EvSwitch: 2, wire.EvDeadlineMiss: 0,
	wire.EvWatchdogKick: 1, wire.EvWatchdogExpiry: 0, wire.EvFaultBegin: 0,
	wire.EvFaultEnd: 0, wire.EvDropped: 0, wire.EvPriority: 2, wire.EvRun: 0,
}

// blackBoxLevel: the black box records the events of this trace level
// whatever level the host chose, so a post-mortem always shows releases,
// ends, locks and kicks (and not only context switches).
const blackBoxLevel = 1

// blackBoxSize is how many events the black box keeps.
const blackBoxSize = 64

// ev emits one event: black box, hook, and the UART if the trace level asks for it.
func (b *Board) ev(kind wire.EventKind, task int32, arg int64) {
	lvl := kindLevel[kind]
	t := uint64(b.now-b.bootAt) / 1000
	if lvl <= blackBoxLevel {
		b.bb[b.bbNext] = wire.Event{Time: t, Kind: kind, Task: task, Arg: arg}
		b.bbNext = (b.bbNext + 1) % blackBoxSize
		if b.bbLen < blackBoxSize {
			b.bbLen++
		}
	}
	if lvl > b.trace {
		return
	}
	e := wire.Event{Seq: b.seq, Time: t, Kind: kind, Task: task, Arg: arg}
	b.events++
	if b.hook != nil {
		b.hook(e)
	}
	if b.quiet {
		b.seq++
		return
	}
	b.flushDropped()
	e.Seq = b.seq // DR may have taken a number
	if b.tx.commitEvent(b.now, e) {
		b.seq++
	} else {
		b.dropped++
	}
}

// flushDropped sends a DR event with the drop count, if there is one and it fits.
func (b *Board) flushDropped() {
	if b.dropped == 0 {
		return
	}
	e := wire.Event{Seq: b.seq, Time: uint64(b.now-b.bootAt) / 1000, Kind: wire.EvDropped, Task: wire.NoTask, Arg: int64(b.dropped)}
	if b.tx.commitEvent(b.now, e) {
		b.seq++
		b.dropped = 0
		if b.hook != nil {
			b.hook(e)
		}
	}
}

// frame commits a non-EV frame appended at tx.buf[start:] (see out); one
// that does not fit is counted for the next DR.
func (b *Board) frame(start int) {
	if !b.tx.commit(b.now, start) {
		b.dropped++
	}
}

// out returns the transmit buffer to append one non-EV frame to, after a
// pending DR; pass len of it before appending to frame.
func (b *Board) out() []byte {
	b.flushDropped()
	return b.tx.buf
}

func (b *Board) push(at int64, kind uint8, idx int32, arg int64) {
	b.tseq++
	b.timers.push(timer{at: at, seq: b.tseq, kind: kind, idx: idx, arg: arg})
}

// next returns the time of the kernel's next action.
func (b *Board) next() int64 {
	t := never
	if b.running != nil {
		t = b.cpuEnd
	}
	if len(b.timers) > 0 && b.timers[0].at < t {
		t = b.timers[0].at
	}
	if b.wdArmed && b.wdAt < t {
		t = b.wdAt
	}
	return t
}

// step does everything due at b.now: the running job's compute ends first
// (so a job finishing exactly at a release or at its deadline is on time),
// then the timers in (time, sequence) order, then the watchdog; the CPU is
// given away once all of it is done.
func (b *Board) step() {
	now := b.now
	if j := b.running; j != nil && b.cpuEnd == now {
		j.rem = 0
		b.advance(j)
	}
	for len(b.timers) > 0 && b.timers[0].at == now {
		if k := b.timers[0].kind; k == tmRelease || k == tmReleaseDue {
			// Left at the root: release replaces it with the next one.
			b.release(&b.timers[0])
			continue
		}
		t := b.timers.pop()
		b.fire(&t)
	}
	if b.wdArmed && b.wdAt == now {
		b.watchdogExpired()
		return
	}
	if b.resched {
		b.schedule()
	}
}

// fire carries out a timer popped from the heap (releases are done at the
// root by step).
func (b *Board) fire(t *timer) {
	switch t.kind {
	case tmBoot:
		b.bootBanner(bootReasons[t.arg])
	case tmDeadline:
		b.deadline(t.idx, t.arg)
	case tmFault:
		b.fireFault(b.stored[t.idx].f)
		b.freeSlots = append(b.freeSlots, t.idx)
	case tmSummary:
		b.summaries()
		b.push(b.now+1e9, tmSummary, 0, 0)
	case tmRunEnd:
		b.endRun()
	case tmStorm:
		s := &b.storms[t.idx]
		if b.now >= s.end {
			return
		}
		b.interrupt(b.irqHandler)
		b.push(b.now+s.period, tmStorm, t.idx, 0)
	case tmStormEnd:
		b.ev(wire.EvFaultEnd, wire.NoTask, int64(b.storms[t.idx].id))
	}
}

// interrupt runs a handler of d ns above every task: after the handlers
// already under way, and the job on the CPU finishes its compute d later.
func (b *Board) interrupt(d int64) {
	b.irqUntil = max(b.irqUntil, b.now) + d
	if b.running != nil {
		b.cpuEnd += d
	}
}

// stall is how long the CPU still runs interrupt handlers from now: a job
// given the CPU, or starting a compute, progresses only after it.
func (b *Board) stall() int64 { return max(b.irqUntil-b.now, 0) }

func (b *Board) miss(ti int32, j *job) {
	if j.missed {
		return
	}
	j.missed = true
	b.tasks[ti].smMisses++
	b.misses++
	b.ev(wire.EvDeadlineMiss, ti, j.num)
}

func (b *Board) newJob() *job {
	var j *job
	if n := len(b.free); n > 0 {
		j = b.free[n-1]
		b.free = b.free[:n-1]
		*j = job{}
	} else {
		j = new(job)
	}
	j.blocked = -1
	b.rseq++
	j.readySeq = b.rseq
	return j
}

// release fires the release timer rt, at the root of the heap: a
// tmReleaseDue first checks the deadline of the task's job before, due at
// the same time. The timer is replaced by the task's next release.
//
// A deadline timer and the next release timer are pushed one after the
// other, so they have consecutive sequence numbers: when the deadline is
// the period they are due at the same time and fire one right after the
// other, and one timer (tmReleaseDue) does both, in the same order. The
// heap pops timers in (time, sequence) order whatever its layout, so
// replacing the root in place of a pop and a push changes no order.
func (b *Board) release(rt *timer) {
	ti := rt.idx
	if rt.kind == tmReleaseDue {
		b.deadline(ti, rt.arg)
	}
	tk := &b.tasks[ti]
	j := b.newJob()
	j.task = ti
	j.num = tk.released
	tk.released++
	j.release = b.now
	j.base, j.eff = tk.prio, tk.prio
	j.body = tk.body
	tk.queue = append(tk.queue, j)
	b.ev(wire.EvRelease, ti, j.num)
	// The deadline timer takes the first number, the release the second.
	b.tseq += 2
	if tk.deadline == tk.period {
		b.timers.replaceTop(timer{at: b.now + tk.period, seq: b.tseq - 1, kind: tmReleaseDue, idx: ti, arg: j.num})
	} else {
		b.timers.replaceTop(timer{at: b.now + tk.period, seq: b.tseq, kind: tmRelease, idx: ti})
		b.timers.push(timer{at: b.now + tk.deadline, seq: b.tseq - 1, kind: tmDeadline, idx: ti, arg: j.num})
	}
	b.resched = true
}

// draw returns a compute time in ns drawn uniformly at µs granularity.
func (b *Board) draw(s *seg) int64 {
	if s.worst == s.best {
		return s.best * 1000
	}
	return (s.best + int64(b.rng.Uint64N(uint64(s.worst-s.best+1)))) * 1000
}

// advance runs j (on the CPU, its current compute done) through its body
// until it needs CPU time again, blocks, or finishes.
func (b *Board) advance(j *job) {
	for {
		if int(j.pc) == len(j.body) {
			b.finish(j)
			return
		}
		s := &j.body[j.pc]
		switch s.kind {
		case SegCompute:
			j.pc++
			if d := b.draw(s); d > 0 {
				j.rem = d
				b.cpuEnd = b.now + b.stall() + d
				return
			}
		case SegLock:
			if !b.acquire(j, s.lock) {
				return
			}
			j.pc++
		case SegUnlock:
			if d := b.takeExtra(j, s.lock); d > 0 {
				j.rem = d
				b.cpuEnd = b.now + b.stall() + d
				return
			}
			b.unlock(j, s.lock)
			j.pc++
		}
	}
}

func (b *Board) finish(j *job) {
	b.running = nil
	b.resched = true
	ti := j.task
	if int(ti) == len(b.tasks) { // a load burst
		b.ev(wire.EvFaultEnd, ti, int64(j.fault))
		for i, x := range b.bursts {
			if x == j {
				b.bursts = append(b.bursts[:i], b.bursts[i+1:]...)
				break
			}
		}
		b.free = append(b.free, j)
		return
	}
	tk := &b.tasks[ti]
	resp := b.now - j.release
	b.ev(wire.EvEnd, ti, resp/1000)
	tk.done++
	tk.smJobs++
	tk.smMax = max(tk.smMax, resp)
	n := copy(tk.queue, tk.queue[1:])
	tk.queue[n] = nil
	tk.queue = tk.queue[:n]
	if ti == b.monTask {
		w := &b.tasks[b.monWatched]
		if len(w.queue) > 0 && w.queue[0].release < j.release {
			b.miss(b.monWatched, w.queue[0])
		} else {
			b.kick(ti)
		}
	} else if tk.kicks {
		b.kick(ti)
	}
	b.free = append(b.free, j)
}

func (b *Board) kick(ti int32) {
	if !b.wdArmed {
		return
	}
	b.wdAt = b.now + b.wdTimeout
	b.ev(wire.EvWatchdogKick, ti, 0)
}

// better reports whether a should have the CPU rather than c.
func (b *Board) better(a, c *job) bool {
	if c == nil || a.eff != c.eff {
		return c == nil || a.eff > c.eff
	}
	if a == b.running || c == b.running {
		return a == b.running
	}
	return a.readySeq < c.readySeq
}

// schedule gives the CPU to the most urgent ready job.
func (b *Board) schedule() {
	b.resched = false
	var best *job
	for i := range b.tasks {
		if q := b.tasks[i].queue; len(q) > 0 && q[0].blocked < 0 && b.better(q[0], best) {
			best = q[0]
		}
	}
	for _, j := range b.bursts {
		if j.blocked < 0 && b.better(j, best) {
			best = j
		}
	}
	if prev := b.running; best != prev {
		// Handlers under way delay whichever job has the CPU next.
		stall := b.stall()
		if prev != nil {
			prev.rem = b.cpuEnd - b.now - stall
		}
		b.running = best
		if best != nil {
			b.cpuEnd = b.now + stall + best.rem
		}
	}
	next := int32(wire.NoTask)
	if best != nil {
		next = best.task
	}
	if next != b.onCPU || (best != nil && int(next) == len(b.tasks) && best != b.onCPUJob) {
		b.ev(wire.EvSwitch, next, int64(b.onCPU))
		b.onCPU = next
	}
	b.onCPUJob = best
	if best != nil && !best.started {
		best.started = true
		if int(next) < len(b.tasks) {
			b.ev(wire.EvStart, next, 0)
		}
	}
}

// acquire takes lock l for j, or blocks j on it.
func (b *Board) acquire(j *job, l int32) bool {
	m := &b.locks[l]
	if m.holder == nil {
		b.grant(j, l)
		return true
	}
	j.blocked = l
	m.waiters = append(m.waiters, j)
	if b.running == j {
		b.running = nil
	}
	b.resched = true
	b.ev(wire.EvBlock, j.task, int64(l))
	if b.proto == ProtoInherit {
		b.updatePrio(m.holder)
	}
	return false
}

func (b *Board) grant(j *job, l int32) {
	b.locks[l].holder = j
	j.held |= 1 << uint(l)
	b.ev(wire.EvLock, j.task, int64(l))
	if int(j.task) < len(b.tasks) {
		tk := &b.tasks[j.task]
		for i := range tk.lh {
			if h := &tk.lh[i]; h.lock == l && !h.active {
				h.active = true
				b.ev(wire.EvFaultBegin, j.task, int64(h.id))
			}
		}
	}
	if b.proto != ProtoNone {
		b.updatePrio(j)
	}
}

// takeExtra returns the extra compute of the active lock-hold faults on
// j's critical section on l not yet applied, and marks them applied.
func (b *Board) takeExtra(j *job, l int32) int64 {
	tk := &b.tasks[j.task]
	var d int64
	for i := range tk.lh {
		if h := &tk.lh[i]; h.lock == l && h.active && !h.applied {
			h.applied = true
			d += h.extra
		}
	}
	return d
}

func (b *Board) unlock(j *job, l int32) {
	m := &b.locks[l]
	m.holder = nil
	j.held &^= 1 << uint(l)
	b.resched = true
	b.ev(wire.EvUnlock, j.task, int64(l))
	tk := &b.tasks[j.task]
	if len(tk.lh) > 0 {
		k := 0
		for _, h := range tk.lh {
			if h.lock == l && h.applied {
				b.ev(wire.EvFaultEnd, j.task, int64(h.id))
				continue
			}
			tk.lh[k] = h
			k++
		}
		tk.lh = tk.lh[:k]
	}
	if len(m.waiters) > 0 {
		// The most urgent waiter gets the lock; FIFO among equals.
		wi := 0
		for i, w := range m.waiters[1:] {
			if w.eff > m.waiters[wi].eff {
				wi = i + 1
			}
		}
		w := m.waiters[wi]
		m.waiters = append(m.waiters[:wi], m.waiters[wi+1:]...)
		w.blocked = -1
		w.pc++ // past its lock segment
		b.rseq++
		w.readySeq = b.rseq
		b.grant(w, l)
		if b.proto == ProtoInherit {
			b.updatePrio(w)
		}
	}
	b.updatePrio(j)
}

// updatePrio recomputes j's effective priority and, under inheritance,
// passes a change on along the chain of lock holders j waits for.
func (b *Board) updatePrio(j *job) {
	for j != nil {
		p := j.base
		switch b.proto {
		case ProtoInherit:
			for h := j.held; h != 0; h &= h - 1 {
				for _, w := range b.locks[bits.TrailingZeros64(h)].waiters {
					p = max(p, w.eff)
				}
			}
		case ProtoCeiling:
			for h := j.held; h != 0; h &= h - 1 {
				p = max(p, b.locks[bits.TrailingZeros64(h)].ceiling)
			}
		}
		if p == j.eff {
			return
		}
		j.eff = p
		b.resched = true
		b.ev(wire.EvPriority, j.task, int64(p))
		if j.blocked < 0 {
			return
		}
		j = b.locks[j.blocked].holder
	}
}

// fireFault starts a fault now (FN, or an SF whose time has come).
func (b *Board) fireFault(f wire.FaultCmd) {
	switch f.Kind {
	case wire.FaultLoadBurst:
		j := b.newJob()
		j.task = int32(len(b.tasks))
		j.release = b.now
		j.base, j.eff = f.Priority, f.Priority
		j.rem = int64(f.Length) * 1000
		j.fault = f.ID
		b.bursts = append(b.bursts, j)
		b.ev(wire.EvFaultBegin, j.task, int64(f.ID))
		b.resched = true
	case wire.FaultIRQStorm:
		// The first interrupt now, then one every period, until length has
		// passed; the task -1 in FB and FE: no task's fault.
		i := int32(len(b.storms))
		b.storms = append(b.storms, storm{id: f.ID, period: int64(f.Period) * 1000, end: b.now + int64(f.Length)*1000})
		b.ev(wire.EvFaultBegin, wire.NoTask, int64(f.ID))
		b.push(b.now, tmStorm, i, 0)
		b.push(b.now+int64(f.Length)*1000, tmStormEnd, i, 0)
	case wire.FaultLockHold:
		tk := &b.tasks[f.Task]
		h := lockHold{id: f.ID, lock: int32(f.Lock), extra: int64(f.Extra) * 1000}
		if len(tk.queue) > 0 && tk.queue[0].held&(1<<uint(f.Lock)) != 0 {
			h.active = true
			b.ev(wire.EvFaultBegin, int32(f.Task), int64(f.ID))
		}
		tk.lh = append(tk.lh, h)
	}
}

func (b *Board) summaries() {
	if b.quiet && b.hook == nil {
		return
	}
	for i := range b.tasks {
		tk := &b.tasks[i]
		s := wire.Summary{Seq: b.seq, Time: uint64(b.now-b.bootAt) / 1000, Task: int32(i),
			Jobs: tk.smJobs, MaxResp: tk.smMax / 1000, Misses: tk.smMisses}
		tk.smJobs, tk.smMax, tk.smMisses = 0, 0, 0
		if b.smHook != nil {
			b.smHook(s)
		}
		if b.quiet {
			b.seq++
		} else {
			b.flushDropped()
			s.Seq = b.seq
			if b.tx.commitSummary(b.now, s) {
				b.seq++
			} else {
				b.dropped++
			}
		}
	}
	b.lastSM = b.now
}

// clearRun drops every job, lock, fault and timer of the run.
func (b *Board) clearRun() {
	for i := range b.tasks {
		tk := &b.tasks[i]
		for k, j := range tk.queue {
			b.free = append(b.free, j)
			tk.queue[k] = nil
		}
		tk.queue = tk.queue[:0]
		tk.lh = tk.lh[:0]
		tk.released, tk.done = 0, 0
		tk.smJobs, tk.smMax, tk.smMisses = 0, 0, 0
	}
	for i, j := range b.bursts {
		b.free = append(b.free, j)
		b.bursts[i] = nil
	}
	b.bursts = b.bursts[:0]
	b.storms = b.storms[:0]
	b.irqUntil = 0
	for i := range b.locks {
		m := &b.locks[i]
		m.holder = nil
		clear(m.waiters)
		m.waiters = m.waiters[:0]
	}
	b.timers = b.timers[:0]
	b.stored = b.stored[:0]
	b.freeSlots = b.freeSlots[:0]
	b.running, b.onCPUJob = nil, nil
	b.resched = false
	b.wdArmed = false
	b.active = false
}
