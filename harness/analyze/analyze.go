// Package analyze turns a board's event stream into figures: it rebuilds
// the schedule (who runs, who is ready, who waits for which lock) and keeps,
// per task, response times, release jitter, execution times, preemptions
// and blocking per lock; it detects priority-inversion episodes and checks
// the observations against response-time analysis of the declared task set
// (oracle.go). Distributions go into HdrHistograms and nothing is kept per
// event, so memory does not grow with the length of a run. It works on board
// time only.
//
// # Who runs
//
// At trace level 2 the board sends a CS event on every context switch and
// the analyzer follows it. At level 1 there are no CS events; the analyzer
// then infers the running task as the ready task with the highest effective
// priority, applying the lock protocol the board declared (inheritance:
// a holder runs at its most urgent waiter's priority; ceiling: at the lock's
// ceiling). Load-burst jobs run at the priority the harness tells it with
// SetFaultPriority.
package analyze

import (
	"math/bits"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Histogram range: 1 µs to 10 minutes at 3 significant digits.
const (
	histMin    = 1
	histMax    = 600_000_000
	histDigits = 3
)

// MaxEpisodes is how many inversion episodes an Analyzer keeps in detail;
// later ones are only counted.
const MaxEpisodes = 100

// Task holds the running figures of one declared task.
type Task struct {
	// The schedule state every event looks at (account, infer), first:
	// with Name and Priority in one cache line.
	active     bool   // a job is in progress (set with setActive)
	burst      bool   // the load pseudo-task: its jobs are load bursts
	blockedOn  int    // lock (order index) waited for, -1 none
	jobBlocked int64  // blocking accumulated by the job in progress (see account)
	pos        uint64 // its places in the current boot's index (the first 64), for Analyzer.act

	Name     string
	Priority int
	Period   int64 // µs; 0 = sporadic
	Deadline int64
	WCET     int64 // declared, µs; 0 = unknown

	Jobs          uint64 // jobs that ended (and were not cut by a gap)
	Censored      uint64 // jobs a reset killed: samples of their time to the reset
	Misses        uint64
	MaxResponse   int64
	MaxResponseAt int64 // run time of the worst response's end
	// MaxBlocking is the most time one job spent ready or waiting while a
	// task of lower base priority ran (see account).
	MaxBlocking   int64
	MaxBlockingAt int64
	MaxExec       int64
	MaxExecAt     int64
	ExecOverWCET  uint64 // jobs that ran longer than the declared WCET
	Preemptions   uint64
	MaxJitter     int64 // largest |release interval - period|
	Hist          *Histogram
	BlockHist     *Histogram // per job, jobs that blocked at all
	CensHist      *Histogram // the censored samples of Hist (nil until the first)

	lockBlock []int64 // worst single wait per lock (by lock order)
	lockCS    []int64 // longest critical section per lock (CPU time while holding)
	usesLock  []bool

	// schedule state (and active, burst, blockedOn, jobBlocked above)
	//
	// Release times of jobs released and not yet ended, oldest first, in a
	// small ring: a job a reset killed still tells how long it waited.
	pending     [8]int64
	missed      [8]bool // the board reported the pending job's deadline miss
	pHead, pLen int
	blockedAt   int64 // run time the current wait started
	lastRelease int64 // -1 after a reset
	exec        int64 // CPU time since the analyzer started (up to runSince when running)
	runSince    int64
	jobExec     int64 // exec at the job's release
	ep          episode

	// Sequence gaps: the ends of jobs that were in flight when events were
	// lost (or whose release was lost) are not observations.
	GapCut uint64 // jobs whose end came after a gap they straddled
}

// Lock holds the figures and state of one declared lock.
type Lock struct {
	Name     string
	Protocol string
	Ceiling  int

	holder   *Task
	heldExec int64 // holder's CPU time when it took the lock
}

// Episode is one priority inversion: High waited for Lock, held by the
// lower-priority Low, while medium-priority tasks (priority strictly
// between them) ran. It starts when a medium task first runs during the
// wait and ends when High gets the lock (or the board resets, events are
// lost, or the run ends).
type Episode struct {
	StartUS  int64  `json:"start_us"`
	LengthUS int64  `json:"length_us"`
	High     string `json:"high"`
	Low      string `json:"low"`
	// Medium is the culprit: the medium-priority task that took the most
	// CPU during the episode (load bursts count as the task "load").
	Medium   string `json:"medium"`
	Lock     string `json:"lock"`
	MediumUS int64  `json:"medium_us"` // CPU time all medium-priority tasks took during it
	// Shares is each medium task's CPU time during the episode, largest
	// first: the preemption that kept Low from releasing the lock.
	Shares []Share `json:"shares"`
}

// Share is one medium-priority task's part of an inversion episode.
type Share struct {
	Task string `json:"task"`
	US   int64  `json:"us"`
}

// SharesText lists the shares for a person, largest first:
// "load 100.0 ms, imaging 86.0 ms, comm_tx 10.0 ms".
func (e Episode) SharesText() string {
	s := ""
	for i, sh := range e.Shares {
		if i > 0 {
			s += ", "
		}
		s += sh.Task + " " + us(sh.US)
	}
	return s
}

// maxShares is how many medium tasks an episode tells apart; the time of
// any further ones goes to the last.
const maxShares = 8

type episode struct {
	open    bool
	e       Episode
	medRun  int64 // run time the medium task on the CPU started running, -1 if none runs
	medTask *Task // that task
	shares  [maxShares]Share
	nShares int
}

// addShare adds us of CPU time to tk's share of the episode.
func (ep *episode) addShare(tk *Task, us int64) {
	if us <= 0 {
		return
	}
	ep.e.MediumUS += us
	for i := range ep.nShares {
		if ep.shares[i].Task == tk.Name {
			ep.shares[i].US += us
			return
		}
	}
	if ep.nShares == maxShares {
		ep.shares[maxShares-1].US += us
		return
	}
	ep.shares[ep.nShares] = Share{Task: tk.Name, US: us}
	ep.nShares++
}

// sortShares orders the shares largest first (insertion sort: a handful,
// no allocation).
func (ep *episode) sortShares() {
	sh := ep.shares[:ep.nShares]
	for i := 1; i < len(sh); i++ {
		for j := i; j > 0 && sh[j].US > sh[j-1].US; j-- {
			sh[j], sh[j-1] = sh[j-1], sh[j]
		}
	}
}

// Analyzer consumes events in run time (µs since the run started, across
// resets) and keeps the figures of one run.
type Analyzer struct {
	// gapOpen is set by Gap until the next event arrives; gapEnd is then
	// that event's run time: the end of the latest stretch of lost
	// telemetry. A job released at or before it straddled a gap.
	gapOpen bool
	gapEnd  int64
	byName  map[string]*Task
	order   []*Task
	index   []*Task // by the current boot's task index
	// act has bit i set when index[i] is active (i < 64): account and
	// infer look only at those tasks, in index order, when the index has
	// at most 64 places. noMask (tests) makes them walk the whole index.
	act    uint64
	noMask bool
	// mayInvert is false only when no task of index waits for a lock or
	// has an episode open: inversions has nothing to do. Set where a task
	// starts waiting and where index changes; cleared by inversions.
	mayInvert bool
	locks     []*Lock // in order of first declaration
	lockName  map[string]*Lock
	lockIdx   []int // current boot's lock index -> order index

	level       int            // trace level: 2 follows CS events, lower infers
	burstPri    map[uint32]int // load-burst fault id -> priority
	burstLookup func(uint32) (int, bool)
	bursts      map[uint32]int // active bursts: fault id -> priority
	burstTop    int            // the most urgent active burst's priority (0: none), kept with bursts
	running     *Task
	acctAt      int64 // run time up to which blocking is accounted
	lastT       int64 // run time of the latest event
	reached     int64 // run time the board said the run ended (Done)
	faults      *faultBook
	// fq: faultsUpTo changes nothing up to fqUpTo (faults.go: faultsQuiet).
	fq     bool
	fqUpTo int64

	Episodes   []Episode // the first MaxEpisodes
	Inversions int       // all of them
	shareArena []Share   // the stored episodes' shares

	// Gaps counts the calls to Gap: places in the stream where events were
	// lost (a sequence gap or a rejected frame).
	Gaps uint64

	// recovery after resets
	recovering bool
	recoverAt  int64
	pending    map[*Task]bool
	recoveries []int64
}

// New returns an empty Analyzer that follows a full (level 2) trace.
func New() *Analyzer {
	return &Analyzer{byName: map[string]*Task{}, lockName: map[string]*Lock{}, level: 2,
		burstPri: map[uint32]int{}, bursts: map[uint32]int{}}
}

// SetLevel tells the analyzer the trace level the board sends: below 2 it
// infers who runs instead of following CS events.
func (a *Analyzer) SetLevel(level int) { a.level = level }

// SetFaultPriority declares that fault id is a load burst at priority prio.
func (a *Analyzer) SetFaultPriority(id uint32, prio int) { a.burstPri[id] = prio }

// SetBurstPriorities gives the analyzer a lookup from fault id to load-burst
// priority instead of one SetFaultPriority per firing, so a long plan costs
// no memory here.
func (a *Analyzer) SetBurstPriorities(lookup func(id uint32) (prio int, ok bool)) {
	a.burstLookup = lookup
}

func (a *Analyzer) burstPriority(id uint32) (int, bool) {
	if a.burstLookup != nil {
		return a.burstLookup(id)
	}
	p, ok := a.burstPri[id]
	return p, ok
}

// SetTable is called after every boot with the table the board declared.
// Figures are kept by task and lock name, so they carry across resets.
func (a *Analyzer) SetTable(t *wire.Table) {
	a.lockIdx = a.lockIdx[:0]
	for _, li := range t.Locks {
		l := a.lockName[li.Name]
		if l == nil {
			l = &Lock{Name: li.Name}
			a.lockName[li.Name] = l
			a.locks = append(a.locks, l)
		}
		l.Protocol, l.Ceiling = li.Protocol, li.Ceiling
		for i, x := range a.locks {
			if x == l {
				a.lockIdx = append(a.lockIdx, i)
			}
		}
	}
	a.index = a.index[:0]
	a.mayInvert = true
	for _, tk := range a.order {
		tk.pos = 0
	}
	for _, ti := range t.Tasks {
		tk := a.byName[ti.Name]
		if tk == nil {
			tk = &Task{Name: ti.Name, Hist: newHistogram(),
				BlockHist: newHistogram(), blockedOn: -1, lastRelease: -1,
				ep: episode{medRun: -1}}
			a.byName[ti.Name] = tk
			a.order = append(a.order, tk)
		}
		tk.Priority, tk.Period, tk.Deadline, tk.WCET = ti.Priority, ti.Period, ti.Deadline, ti.WCET
		tk.burst = ti.Period == 0 && ti.Name == LoadTask
		for len(tk.lockBlock) < len(a.locks) {
			tk.lockBlock = append(tk.lockBlock, 0)
			tk.lockCS = append(tk.lockCS, 0)
			tk.usesLock = append(tk.usesLock, false)
		}
		if i := len(a.index); i < 64 {
			tk.pos |= 1 << uint(i)
		}
		a.index = append(a.index, tk)
	}
	a.act = 0
	for _, tk := range a.order {
		if tk.active {
			a.act |= tk.pos
		}
	}
}

// setActive sets whether tk has a job in progress, and its bits in act.
func (a *Analyzer) setActive(tk *Task, v bool) {
	tk.active = v
	if v {
		a.act |= tk.pos
	} else {
		a.act &^= tk.pos
	}
}

// masked reports whether act stands for the index (see act).
func (a *Analyzer) masked() bool { return len(a.index) <= 64 && !a.noMask }

// LoadTask is the name of the pseudo-task whose jobs are load bursts.
const LoadTask = "load"

// Reset tells the analyzer the board rebooted at run time t: jobs in flight
// are gone, and the time to recover is measured from t.
//
// A job that was released and never ended had waited at least from its
// release until the reset: it is a censored sample of that length in the
// response histogram (so max, percentiles and histograms all see it, and a
// task whose jobs die in resets does not look fast), and a deadline miss
// when its deadline had passed and the board had not said so.
func (a *Analyzer) Reset(t int64) {
	a.account(t)
	a.faultsReset(t)
	a.lastT = max(a.lastT, t)
	a.setRunning(t, nil)
	a.closeEpisodes(t)
	for _, tk := range a.order {
		a.cutJob(t, tk)
		for i := range tk.pLen {
			k := (tk.pHead + i) % len(tk.pending)
			r := t - tk.pending[k]
			tk.Censored++
			tk.Hist.RecordValue(min(max(r, histMin), histMax))
			if tk.CensHist == nil {
				tk.CensHist = newHistogram()
			}
			tk.CensHist.RecordValue(min(max(r, histMin), histMax))
			if r > tk.MaxResponse {
				tk.MaxResponse, tk.MaxResponseAt = r, t
			}
			if tk.Deadline > 0 && r > tk.Deadline && !tk.missed[k] {
				tk.Misses++
			}
			tk.missed[k] = false
		}
		tk.pHead, tk.pLen = 0, 0
		tk.active, tk.blockedOn, tk.jobBlocked, tk.lastRelease = false, -1, 0, -1
	}
	a.act = 0
	for _, l := range a.locks {
		l.holder = nil
	}
	clear(a.bursts)
	a.burstTop = 0
	if a.recovering {
		a.recovered(-1)
	}
	// Recovered when every task of the shortest period (the bus cycle) has
	// completed a job again.
	var cycle int64
	for _, tk := range a.order {
		if tk.Period > 0 && (cycle == 0 || tk.Period < cycle) {
			cycle = tk.Period
		}
	}
	if a.pending == nil {
		a.pending = map[*Task]bool{}
	}
	clear(a.pending)
	for _, tk := range a.order {
		if tk.Period == cycle && cycle > 0 {
			a.pending[tk] = true
		}
	}
	a.recovering, a.recoverAt = len(a.pending) > 0, t
	if !a.recovering {
		a.recovered(-1)
	}
}

// MaxRecoveries is how many resets (the first ones) keep their recovery
// time, so memory stays bounded when a board resets all night.
const MaxRecoveries = 1000

func (a *Analyzer) recovered(us int64) {
	if len(a.recoveries) < MaxRecoveries {
		a.recoveries = append(a.recoveries, us)
	}
}

// Recoveries returns, for each Reset in order (the first MaxRecoveries), the µs from the reset to the
// end of the first complete bus cycle after it (every task of the shortest
// period completed a job), or -1 if that never happened.
func (a *Analyzer) Recoveries() []int64 {
	out := append([]int64(nil), a.recoveries...)
	if a.recovering && len(out) < MaxRecoveries {
		out = append(out, -1)
	}
	return out
}

func (a *Analyzer) task(i int32) *Task {
	if i < 0 || int(i) >= len(a.index) {
		return nil
	}
	return a.index[i]
}

func (a *Analyzer) lock(i int64) (int, *Lock) {
	if i < 0 || int(i) >= len(a.lockIdx) {
		return -1, nil
	}
	k := a.lockIdx[i]
	return k, a.locks[k]
}

// prio is a task's base priority, or for the load task the priority of
// the most urgent active burst.
func (a *Analyzer) prio(tk *Task) int {
	if !tk.burst {
		return tk.Priority
	}
	return a.burstTop
}

// burstsChanged recomputes burstTop after bursts changed.
func (a *Analyzer) burstsChanged() {
	p, any := 0, false
	for _, bp := range a.bursts {
		if !any || bp > p {
			p, any = bp, true
		}
	}
	a.burstTop = p
}

func (tk *Task) execAt(t int64, running bool) int64 {
	if running {
		return tk.exec + t - tk.runSince
	}
	return tk.exec
}

// setRunning switches the CPU to next at t.
func (a *Analyzer) setRunning(t int64, next *Task) {
	prev := a.running
	if prev == next {
		return
	}
	if prev != nil {
		prev.exec += t - prev.runSince
		if prev.active && prev.blockedOn < 0 && !prev.burst {
			prev.Preemptions++
		}
	}
	if next != nil {
		next.runSince = t
	}
	a.running = next
}

// account charges the run time since the last event to the blocking of
// every task that had a job in progress (ready, or waiting for a lock) while
// a task of lower base priority ran: blocking as scheduling theory defines
// it, whatever the lock protocol. Under inheritance that is the holder's
// critical section while the waiter waits (and push-through blocking of the
// tasks in between); under the ceiling protocol the critical section a task
// released while a lower one holds the lock cannot preempt; under no
// protocol also the medium-priority work that keeps the holder off the CPU.
// A wait for a lock while the CPU idles (the holder is off the CPU for
// reasons the trace does not show) is blocking too: nothing more urgent ran.
func (a *Analyzer) account(t int64) {
	d := t - a.acctAt
	a.acctAt = t
	if d <= 0 {
		return
	}
	r := a.running
	rp := 0
	if r != nil {
		rp = a.prio(r)
	}
	if a.masked() {
		for m := a.act; m != 0; m &= m - 1 {
			tk := a.index[bits.TrailingZeros64(m)]
			if tk == r || tk.burst {
				continue
			}
			if r == nil && tk.blockedOn >= 0 || r != nil && tk.Priority > rp {
				tk.jobBlocked += d
			}
		}
		return
	}
	for _, tk := range a.index {
		if !tk.active || tk == r || tk.burst {
			continue
		}
		if r == nil && tk.blockedOn >= 0 || r != nil && tk.Priority > rp {
			tk.jobBlocked += d
		}
	}
}

// Event takes one event at run time t (µs).
func (a *Analyzer) Event(t int64, ev *wire.Event) {
	a.account(t)
	if a.gapOpen {
		a.gapOpen, a.gapEnd = false, t
	}
	prev := a.lastT
	switch ev.Kind {
	case wire.EvDropped:
		// The board dropped events since the one before: a gap, although
		// the sequence numbers run on.
		if ev.Arg > 0 {
			a.Gap(prev)
			a.gapOpen, a.gapEnd = false, t
		}
	case wire.EvRun:
		a.faultsGo(t)
	case wire.EvFaultBegin:
		a.faultBegun(t, uint32(ev.Arg)) // before settling: a late FB is named late
	}
	a.faultsUpTo(t)
	a.lastT = t
	tk := a.task(ev.Task)
	sched := false
	switch ev.Kind {
	case wire.EvDropped:
		return
	case wire.EvRelease:
		if tk == nil {
			return
		}
		if tk.lastRelease >= 0 && tk.Period > 0 {
			j := t - tk.lastRelease - tk.Period
			if j < 0 {
				j = -j
			}
			tk.MaxJitter = max(tk.MaxJitter, j)
		}
		tk.lastRelease = t
		if tk.pLen < len(tk.pending) { // overrun beyond the ring: keep the oldest
			k := (tk.pHead + tk.pLen) % len(tk.pending)
			tk.pending[k], tk.missed[k] = t, false
			tk.pLen++
		}
		if !tk.active {
			a.setActive(tk, true)
			tk.jobExec = tk.execAt(t, a.running == tk)
			tk.jobBlocked = 0
		}
		sched = true
	case wire.EvEnd:
		if tk == nil {
			return
		}
		a.end(t, tk, ev.Arg)
		sched = true
	case wire.EvBlock:
		k, l := a.lock(ev.Arg)
		if tk == nil || l == nil {
			return
		}
		tk.blockedOn, tk.blockedAt = k, t
		a.mayInvert = true
		tk.usesLock[k] = true
		sched = true
	case wire.EvLock:
		k, l := a.lock(ev.Arg)
		if tk == nil || l == nil {
			return
		}
		if tk.blockedOn >= 0 {
			w := t - tk.blockedAt
			tk.lockBlock[k] = max(tk.lockBlock[k], w)
			tk.blockedOn = -1
			a.closeEpisode(t, tk)
		}
		tk.usesLock[k] = true
		l.holder, l.heldExec = tk, tk.execAt(t, a.running == tk)
		sched = true
	case wire.EvUnlock:
		k, l := a.lock(ev.Arg)
		if tk == nil || l == nil {
			return
		}
		if l.holder == tk {
			cs := tk.execAt(t, a.running == tk) - l.heldExec
			tk.lockCS[k] = max(tk.lockCS[k], cs)
		}
		l.holder = nil
		sched = true
	case wire.EvSwitch:
		if a.level >= 2 {
			a.setRunning(t, tk)
		}
	case wire.EvDeadlineMiss:
		// At level 0 the SM frames count the misses (a board may send DM
		// there too: counting both would count each miss twice).
		if tk != nil && a.level > 0 {
			tk.Misses++
			// Deadlines pass in release order: the oldest pending job
			// not yet reported is the one.
			for i := range tk.pLen {
				if k := (tk.pHead + i) % len(tk.pending); !tk.missed[k] {
					tk.missed[k] = true
					break
				}
			}
		}
	case wire.EvFaultBegin:
		if p, ok := a.burstPriority(uint32(ev.Arg)); ok {
			a.bursts[uint32(ev.Arg)] = p
			a.burstsChanged()
			if tk != nil {
				a.setActive(tk, true)
			}
			sched = true
		}
	case wire.EvFaultEnd:
		if _, ok := a.bursts[uint32(ev.Arg)]; ok {
			delete(a.bursts, uint32(ev.Arg))
			a.burstsChanged()
			if tk != nil && len(a.bursts) == 0 {
				a.setActive(tk, false)
			}
			sched = true
		}
	default:
		// PR is not followed: infer derives effective priorities from
		// the lock state and the declared protocol.
		return
	}
	if a.level < 2 && sched {
		a.infer(t)
	}
	a.inversions(t)
}

func (a *Analyzer) end(t int64, tk *Task, r int64) {
	// The response is the board's own measure (EN's arg): it joins nothing
	// across a gap, so every job that ends is an observation of it.
	tk.Jobs++
	if r > tk.MaxResponse {
		tk.MaxResponse, tk.MaxResponseAt = r, t
	}
	tk.Hist.RecordValue(min(max(r, histMin), histMax))
	if a.gapCut(tk, t-r) {
		// What the host rebuilds from the events (blocking, CPU time) is
		// unknown for a job that straddled lost telemetry: left out.
		if tk.pLen > 0 {
			// The job released after the gap is the one in progress now.
			a.setActive(tk, true)
		}
		tk.jobBlocked, tk.blockedOn = 0, -1
		tk.jobExec = tk.execAt(t, a.running == tk)
		a.recoveredEnd(t, tk)
		return
	}
	if tk.blockedOn >= 0 { // should not happen: it finished
		tk.blockedOn = -1
	}
	if tk.jobBlocked > 0 {
		tk.BlockHist.RecordValue(min(max(tk.jobBlocked, histMin), histMax))
	}
	if tk.jobBlocked > tk.MaxBlocking {
		tk.MaxBlocking, tk.MaxBlockingAt = tk.jobBlocked, t
	}
	tk.jobBlocked = 0
	ex := tk.execAt(t, a.running == tk) - tk.jobExec
	if a.level > 0 {
		if ex > tk.MaxExec {
			tk.MaxExec, tk.MaxExecAt = ex, t
		}
		if tk.WCET > 0 && ex > tk.WCET {
			tk.ExecOverWCET++
		}
	}
	// A job queued behind this one (after an overrun) is next.
	if tk.pLen > 0 {
		tk.missed[tk.pHead] = false
		tk.pHead = (tk.pHead + 1) % len(tk.pending)
		tk.pLen--
	}
	a.setActive(tk, tk.pLen > 0)
	tk.jobExec = tk.execAt(t, a.running == tk)
	a.recoveredEnd(t, tk)
}

// recoveredEnd notes that a job of tk ended at t, for the recovery after a
// reset: the end is a fact even when the job's figures are not.
func (a *Analyzer) recoveredEnd(t int64, tk *Task) {
	if a.recovering && a.pending[tk] {
		delete(a.pending, tk)
		if len(a.pending) == 0 {
			a.recovering = false
			a.recovered(t - a.recoverAt)
		}
	}
}

// infer picks the running task at trace levels without CS events: the
// ready task with the highest effective priority under the declared protocol.
func (a *Analyzer) infer(t int64) {
	var best *Task
	bestP := 0
	if a.masked() {
		// The active tasks, in index order.
		for m := a.act; m != 0; m &= m - 1 {
			tk := a.index[bits.TrailingZeros64(m)]
			if tk.blockedOn >= 0 {
				continue
			}
			if p := a.effPrio(tk); best == nil || p > bestP || p == bestP && tk == a.running {
				best, bestP = tk, p
			}
		}
		a.setRunning(t, best)
		return
	}
	for _, tk := range a.index {
		if !tk.active || tk.blockedOn >= 0 {
			continue
		}
		if p := a.effPrio(tk); best == nil || p > bestP || p == bestP && tk == a.running {
			best, bestP = tk, p
		}
	}
	a.setRunning(t, best)
}

// effPrio is tk's effective priority under the declared protocols of the
// locks it holds (infer).
func (a *Analyzer) effPrio(tk *Task) int {
	p := a.prio(tk)
	for k, l := range a.locks {
		if l.holder != tk {
			continue
		}
		switch l.Protocol {
		case "ceiling":
			p = max(p, l.Ceiling)
		case "inherit":
			for _, w := range a.index {
				if w.blockedOn == k {
					p = max(p, w.Priority)
				}
			}
		}
	}
	return p
}

// inversions opens, extends and closes episodes after the schedule changed.
func (a *Analyzer) inversions(t int64) {
	if !a.mayInvert {
		return
	}
	m := a.running
	busy := false
	for _, h := range a.index {
		if h.blockedOn < 0 {
			if h.ep.open {
				a.closeEpisode(t, h)
			}
			continue
		}
		busy = true
		l := a.locks[h.blockedOn].holder
		medium := l != nil && m != nil && m != l && m != h &&
			l.Priority < h.Priority && a.prio(m) > l.Priority && a.prio(m) < h.Priority
		ep := &h.ep
		if ep.medRun >= 0 && (!medium || m != ep.medTask) {
			ep.addShare(ep.medTask, t-ep.medRun)
			ep.medRun = -1
		}
		if medium && !ep.open {
			ep.open = true
			ep.e = Episode{StartUS: t, High: h.Name, Low: l.Name, Lock: a.locks[h.blockedOn].Name}
		}
		if medium && ep.medRun < 0 {
			ep.medRun, ep.medTask = t, m
		}
	}
	// Nobody waits now, and every episode is closed: until a task waits
	// again (or the table changes) there is nothing to look at.
	a.mayInvert = busy
}

func (a *Analyzer) closeEpisode(t int64, h *Task) {
	ep := &h.ep
	if !ep.open {
		return
	}
	if ep.medRun >= 0 {
		ep.addShare(ep.medTask, t-ep.medRun)
	}
	ep.sortShares()
	if ep.nShares > 0 {
		ep.e.Medium = ep.shares[0].Task
	}
	ep.e.LengthUS = t - ep.e.StartUS
	ep.open, ep.medRun, ep.medTask = false, -1, nil
	a.Inversions++
	if len(a.Episodes) < MaxEpisodes {
		// The stored episodes' shares live in one arena, allocated once.
		if a.shareArena == nil {
			a.shareArena = make([]Share, 0, MaxEpisodes*maxShares)
		}
		k := len(a.shareArena)
		a.shareArena = append(a.shareArena, ep.shares[:ep.nShares]...)
		ep.e.Shares = a.shareArena[k:len(a.shareArena):len(a.shareArena)]
		a.Episodes = append(a.Episodes, ep.e)
	}
	ep.nShares = 0
}

func (a *Analyzer) closeEpisodes(t int64) {
	for _, tk := range a.order {
		a.closeEpisode(t, tk)
	}
}

// Gap tells the analyzer that events were lost (a sequence gap, or a frame
// rejected for its CRC or its form) after the event at run time t, the last
// one received before the loss. Nothing is joined across it:
//
//   - a job in flight at the gap, or whose release was lost in it, gives no
//     blocking or CPU-time figure: its end, when it comes, is counted in
//     Task.GapCut (its response, reported by the board, still counts);
//   - a wait for a lock, a critical section, an inversion episode and the
//     release interval open at the gap are closed at t without inventing
//     what happened in the gap: a wait or a section that was open does not
//     count at all, an episode keeps what was seen up to t;
//   - who runs and which locks are held are forgotten until events say it
//     again; active load bursts are forgotten too (their FE may be lost).
//
// A job's response is the board's own measure (the arg of its EN event), so
// every end that arrives is a response observation, gap or not; what the
// host rebuilds from several events (blocking, CPU time, release jitter) is
// left out for the jobs that straddled a gap: TaskResult.GapCut counts them.
func (a *Analyzer) Gap(t int64) {
	a.Gaps++
	a.gapOpen = true
	a.account(t)
	if a.faults != nil && a.faults.gapFrom < 0 {
		a.fq = false
		a.faults.gapFrom = t
	}
	a.closeEpisodes(t)
	if r := a.running; r != nil {
		r.exec += t - r.runSince // no preemption: nobody knows what ran next
		a.running = nil
	}
	for _, tk := range a.order {
		tk.pHead, tk.pLen, tk.missed = 0, 0, [8]bool{}
		tk.active, tk.blockedOn, tk.jobBlocked, tk.lastRelease = false, -1, 0, -1
	}
	a.act = 0
	for _, l := range a.locks {
		l.holder = nil
	}
	clear(a.bursts)
	a.burstTop = 0
}

// gapCut reports whether the job of tk that ends now, released at run
// time rel (the end's time minus the response the board reports), was in
// flight during a stretch of lost telemetry, and counts it when so. The
// board's own response time says when the job was released, so a job that
// began after the loss counts however many ends were lost before it.
func (a *Analyzer) gapCut(tk *Task, rel int64) bool {
	if a.Gaps == 0 || (!a.gapOpen && rel > a.gapEnd) {
		return false
	}
	tk.GapCut++
	return true
}

// Finish closes what is still open at the end of the run (run time t).
func (a *Analyzer) Finish(t int64) {
	a.account(t)
	a.reached = max(a.reached, t)
	a.faultsFinish(a.reached)
	a.closeEpisodes(t)
	for _, tk := range a.order {
		a.cutJob(t, tk)
	}
}

// cutJob ends, at t, the job of tk in progress, which will never end (a
// reset killed it, or the run ended): the blocking it suffered so far, and a
// wait for a lock that will never be granted, are lower bounds that count
// towards the task's worst blocking.
func (a *Analyzer) cutJob(t int64, tk *Task) {
	if tk.blockedOn >= 0 {
		w := t - tk.blockedAt
		tk.lockBlock[tk.blockedOn] = max(tk.lockBlock[tk.blockedOn], w)
	}
	if tk.jobBlocked > tk.MaxBlocking {
		tk.MaxBlocking, tk.MaxBlockingAt = tk.jobBlocked, t
	}
	tk.blockedOn, tk.jobBlocked = -1, 0
}

// Summary takes an SM frame (trace level 0, where there are no EN events).
// Its max_resp is the worst response of one window (a second): the
// histogram then holds window maxima, and the figures say so
// (TaskResult.WindowMax).
func (a *Analyzer) Summary(s *wire.Summary) {
	tk := a.task(s.Task)
	if tk == nil {
		return
	}
	tk.Jobs += uint64(s.Jobs)
	tk.Misses += uint64(s.Misses)
	if s.MaxResp > tk.MaxResponse {
		tk.MaxResponse, tk.MaxResponseAt = s.MaxResp, int64(s.Time)
	}
	if s.Jobs > 0 && s.MaxResp > 0 {
		tk.Hist.RecordValue(min(s.MaxResp, histMax))
	}
}

// Bin is one bar of a response-time histogram: Count jobs took at most
// LeUS (and more than the previous bin's LeUS).
type Bin struct {
	LeUS  int64 `json:"le_us"`
	Count int64 `json:"count"`
	// Censored is how many of Count are jobs a reset cut short, counted at
	// their time to the reset (their true response was longer).
	Censored int64 `json:"censored,omitempty"`
}

// TaskResult is one task's figures in a run record. Times are µs of board time.
//
// The response figures (max, percentiles, histogram) come from one set of
// samples: every job that ended, plus every job a reset killed, at its time
// from release to the reset (Censored counts those; the true response was
// at least that). At trace level 0 the board sends one worst response per
// task and second instead of one per job: WindowMax is set, the percentiles
// are of those window maxima and are named so (P99OfWindowMaxUS,
// P50OfWindowMaxUS), and P99ResponseUS/P50ResponseUS are absent.
type TaskResult struct {
	Jobs          uint64 `json:"jobs"`
	Censored      uint64 `json:"censored,omitempty"`
	MaxResponseUS int64  `json:"max_response_us"`
	P99ResponseUS int64  `json:"p99_response_us,omitempty"`
	P50ResponseUS int64  `json:"p50_response_us,omitempty"`
	// Trace level 0 only.
	WindowMax        bool  `json:"window_max,omitempty"`
	P99OfWindowMaxUS int64 `json:"p99_of_window_max_us,omitempty"`
	P50OfWindowMaxUS int64 `json:"p50_of_window_max_us,omitempty"`

	DeadlineMisses uint64 `json:"deadline_misses"`
	MaxBlockingUS  int64  `json:"max_blocking_us"`
	// Schedule figures (trace levels 1 and 2).
	MaxExecUS          int64            `json:"max_exec_us"`
	Preemptions        uint64           `json:"preemptions"`
	MaxReleaseJitterUS int64            `json:"max_release_jitter_us"`
	BlockingByLockUS   map[string]int64 `json:"blocking_by_lock_us,omitempty"` // worst single wait per lock
	ResponseHist       []Bin            `json:"response_hist,omitempty"`
	// GapCut counts jobs that straddled a sequence gap or a rejected
	// frame: their response (the board's figure) counts, their blocking and
	// execution time (joined from events) are left out.
	GapCut uint64 `json:"gap_cut,omitempty"`
}

// histBins is how many bars a stored response histogram has at most.
const histBins = 24

// Tasks returns the periodic tasks' figures by name (sporadic pseudo-tasks,
// such as the load-burst jobs, are left out).
func (a *Analyzer) Tasks() map[string]TaskResult {
	out := make(map[string]TaskResult, len(a.order))
	for _, tk := range a.order {
		if tk.Period <= 0 {
			continue
		}
		r := TaskResult{Jobs: tk.Jobs, Censored: tk.Censored, MaxResponseUS: tk.MaxResponse, DeadlineMisses: tk.Misses, MaxBlockingUS: tk.MaxBlocking,
			MaxExecUS: tk.MaxExec, Preemptions: tk.Preemptions, MaxReleaseJitterUS: tk.MaxJitter, GapCut: tk.GapCut}
		if tk.Hist.TotalCount() > 0 {
			p99 := min(tk.Hist.ValueAtQuantile(99), tk.MaxResponse)
			p50 := min(tk.Hist.ValueAtQuantile(50), tk.MaxResponse)
			if a.level == 0 {
				r.WindowMax, r.P99OfWindowMaxUS, r.P50OfWindowMaxUS = true, p99, p50
			} else {
				r.P99ResponseUS, r.P50ResponseUS = p99, p50
			}
			r.ResponseHist = bins(tk.Hist, tk.MaxResponse)
			censoredBins(r.ResponseHist, tk.Hist, tk.CensHist, tk.MaxResponse)
		} else if a.level == 0 {
			r.WindowMax = true
		}
		for k, l := range a.locks {
			if k < len(tk.usesLock) && tk.usesLock[k] {
				if r.BlockingByLockUS == nil {
					r.BlockingByLockUS = map[string]int64{}
				}
				r.BlockingByLockUS[l.Name] = tk.lockBlock[k]
			}
		}
		out[tk.Name] = r
	}
	return out
}

// bins folds a histogram into at most histBins equal-width bars from its
// minimum to max.
// censoredBins counts, in each bin of out (made by bins from all), the
// samples of cens, the censored part of all.
func censoredBins(out []Bin, all, cens *Histogram, maxV int64) {
	if cens == nil || len(out) == 0 {
		return
	}
	lo := all.Min()
	width := binWidth(lo, maxV)
	cens.bars(func(_, to, count int64) {
		le := binEdge(to, lo, width, maxV)
		for k := range out {
			if out[k].LeUS >= le {
				out[k].Censored += count
				break
			}
		}
	})
}

func bins(h *Histogram, maxV int64) []Bin {
	lo := h.Min()
	width := binWidth(lo, maxV)
	out := make([]Bin, 0, histBins)
	h.bars(func(_, to, count int64) {
		le := binEdge(to, lo, width, maxV)
		if n := len(out); n > 0 && out[n-1].LeUS == le {
			out[n-1].Count += count
		} else {
			out = append(out, Bin{LeUS: le, Count: count})
		}
	})
	return out
}

// binWidth is the width of each of the histBins bars from lo to maxV.
func binWidth(lo, maxV int64) int64 { return max((maxV-lo+histBins)/histBins, 1) }

// binEdge is the upper edge (le) of the bar that holds values up to to;
// values on an edge belong to the bar below it.
func binEdge(to, lo, width, maxV int64) int64 {
	v := min(to, maxV)
	i := int((v - lo) / width)
	if v > lo && (v-lo)%width == 0 {
		i--
	}
	if i < 0 {
		return lo
	}
	return min(lo+int64(i+1)*width, maxV)
}

// Release gives the memory of the tasks' histograms back for other
// analyzers, once every figure wanted of a and its tasks is taken (a
// campaign's runs take them when the run's record is made): their
// histograms are empty after it.
func (a *Analyzer) Release() {
	for _, tk := range a.order {
		tk.Hist.release()
		tk.BlockHist.release()
		tk.CensHist.release()
	}
}

// Order returns the tasks in the order the board first declared them.
func (a *Analyzer) Order() []*Task { return a.order }

// Locks returns the locks in the order the board first declared them.
func (a *Analyzer) Locks() []*Lock { return a.locks }

// Running is the task on the CPU at the latest event (nil: idle).
func (a *Analyzer) Running() *Task { return a.running }

// State is what a task is doing, as the analyzer rebuilt it.
type State uint8

// Task states.
const (
	Idle    State = iota // no job in progress
	Ready                // a job waits for the CPU
	Running              // a job has the CPU
	Blocked              // a job waits for a lock
)

// State returns what tk does now, and the lock it waits for when Blocked.
func (a *Analyzer) State(tk *Task) (State, *Lock) {
	switch {
	case tk == a.running:
		return Running, nil
	case tk.blockedOn >= 0:
		return Blocked, a.locks[tk.blockedOn]
	case tk.active:
		return Ready, nil
	}
	return Idle, nil
}

// Holder is the task holding l now, or nil.
func (l *Lock) Holder() *Task { return l.holder }
