// Package firmware is the bundled reference firmware: a discrete-event model
// of a single-CPU, fixed-priority, preemptive RTOS board that speaks the
// hilchaos wire protocol on a simulated UART.
package firmware

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Build is the build id the board reports in its BOOT banner.
const Build = "go-ref-1"

// Config is how one board instance is built.
type Config struct {
	Mutex    Protocol
	Baud     int    // UART baud rate; 0 means an infinitely fast link
	Trace    int    // 0 summaries, 1 default, 2 full (adds ST, CS and PR events)
	Seed     uint64 // draws execution times
	TxBuffer int    // UART transmit buffer in bytes; 0 means 4096
}

// DefaultTxBuffer is the UART transmit buffer when Config.TxBuffer is 0.
const DefaultTxBuffer = 4096

// ErrConfig is returned (wrapped) by NewBoard for a bad Config.
var ErrConfig = errors.New("firmware: invalid config")

var bootReasons = [...]string{wire.ReasonPowerOn, wire.ReasonWatchdog, wire.ReasonSoftware}

const (
	bootPOR = iota
	bootWDT
	bootSW
)

// Board is one simulated board. It is not safe for concurrent use.
//
// Time: Now counts ns from power-on across resets; the wire's time fields
// are µs since the last reset (the BOOT banner goes out BootDelay after it).
// A reset (watchdog or RS) clears everything in RAM: tasks, faults, the
// schedule, and the trace level and mutex protocol set with CF, which go
// back to the Config values. The boot count and the black box survive (as
// in a .noinit area), and frames already queued on the UART are still
// delivered. Bytes received while the board boots are lost.
type Board struct {
	prof   *Profile
	cfg    Config
	now    int64
	bootAt int64 // time of the last reset

	tasks   []task
	locks   []mutex
	timers  timerHeap
	tseq    uint64
	rseq    uint64
	running *job
	cpuEnd  int64
	resched bool
	bursts  []*job
	storms  []storm // irq storms of this run, by the index their timers carry
	// irqUntil is when the interrupt handlers under way end: until then
	// the CPU runs them and no job progresses.
	irqUntil   int64
	irqHandler int64 // ns one storm interrupt takes (Profile.IRQHandler)
	free       []*job
	stored     []storedFault
	// freeSlots are indices of stored faults that have fired.
	freeSlots []int32
	rng       *rand.Rand

	onCPU    int32 // task index of the job last given the CPU, -1 idle
	onCPUJob *job

	monTask, monWatched int32 // -1 without a monitor

	proto     Protocol
	trace     int
	booting   bool
	bootCount uint32
	active    bool // a run is going
	runStart  int64
	lastSM    int64
	wdTimeout int64
	wdArmed   bool
	wdAt      int64

	seq     uint32 // EV frames since boot
	dropped uint64 // frames dropped since the last DR
	tx      uart
	rx      []byte
	rxDrop  bool // the current line is too long: drop it
	frameRx wire.Frame

	bb     [blackBoxSize]wire.Event
	bbNext int
	bbLen  int

	// answered remembers the last idMemory commands answered since boot
	// (PROTOCOL.md 2.2): a repeated id gets its first answer again and is
	// not carried out twice.
	answered   [idMemory]answer
	ansNext    int
	bootReason int // why the board last booted, for the banner ID re-sends
	// lastDN is the DN of the run that ended, repeated before the AK of a
	// PG until the next GO or reset (PROTOCOL.md 2.4).
	lastDN [2]uint64 // seq, time_us
	haveDN bool

	// Counters for tests and benchmarks.
	events uint64 // EV frames emitted (sent or dropped)
	misses uint64
	wdts   uint64

	// Test hooks: hook sees every EV the trace level lets through, smHook
	// every SM; quiet skips the UART (no encoding at all).
	hook     func(wire.Event)
	smHook   func(wire.Summary)
	doneHook func() // where the board sends DN
	quiet    bool
}

// NewBoard powers a board on at virtual time 0.
func NewBoard(p *Profile, cfg Config) (*Board, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil profile", ErrProfile)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if int(cfg.Mutex) >= len(protoNames) {
		return nil, fmt.Errorf("%w: mutex protocol %d", ErrConfig, cfg.Mutex)
	}
	if cfg.Trace < 0 || cfg.Trace > 2 {
		return nil, fmt.Errorf("%w: trace level %d (want 0, 1 or 2)", ErrConfig, cfg.Trace)
	}
	if cfg.Baud < 0 || cfg.TxBuffer < 0 {
		return nil, fmt.Errorf("%w: negative baud rate or transmit buffer", ErrConfig)
	}
	if cfg.TxBuffer == 0 {
		cfg.TxBuffer = DefaultTxBuffer
	}
	p = p.clone()
	b := &Board{prof: p, cfg: cfg, monTask: -1, monWatched: -1, onCPU: wire.NoTask}
	b.rng = rand.New(rand.NewPCG(cfg.Seed, 0x68696c6368616f73)) // "hilchaos"
	lockIdx := make(map[string]int32, len(p.Locks))
	b.locks = make([]mutex, len(p.Locks))
	for i, l := range p.Locks {
		lockIdx[l] = int32(i)
	}
	taskIdx := make(map[string]int32, len(p.Tasks))
	b.tasks = make([]task, len(p.Tasks))
	for i := range p.Tasks {
		ts := &p.Tasks[i]
		taskIdx[ts.Name] = int32(i)
		tk := &b.tasks[i]
		tk.name, tk.prio, tk.kicks = ts.Name, ts.Priority, ts.KicksWatchdog
		tk.period, tk.offset = int64(ts.Period), int64(ts.Offset)
		tk.deadline = int64(ts.Deadline)
		if tk.deadline == 0 {
			tk.deadline = tk.period
		}
		tk.wcet = int64(ts.WCET() / 1000)
		tk.queue = make([]*job, 0, 4)
		for _, s := range ts.Body {
			sg := seg{kind: s.Kind, lock: -1, best: int64(s.Best / 1000), worst: int64(s.Worst / 1000)}
			if s.Kind != SegCompute {
				sg.lock = lockIdx[s.Lock]
				tk.usesLocks |= 1 << uint(sg.lock)
				m := &b.locks[sg.lock]
				if m.waiters == nil || ts.Priority > m.ceiling {
					m.ceiling = ts.Priority
				}
				if m.waiters == nil {
					m.waiters = make([]*job, 0, 4)
				}
			}
			tk.body = append(tk.body, sg)
		}
	}
	if m := p.Monitor; m != nil {
		b.monTask, b.monWatched = taskIdx[m.Task], taskIdx[m.Watched]
	}
	b.wdTimeout = int64(p.Watchdog)
	b.irqHandler = int64(p.IRQHandler)
	if b.irqHandler == 0 {
		b.irqHandler = int64(DefaultIRQHandler)
	}
	b.tx.init(cfg.Baud, cfg.TxBuffer)
	b.rx = make([]byte, 0, wire.MaxFrame)
	b.free = make([]*job, 0, 16)
	b.reset(bootPOR)
	return b, nil
}

// Now is the virtual time in ns since power-on (not since the last reset).
func (b *Board) Now() int64 { return b.now }

// NextEvent returns the time of the next thing the board will do, output
// bytes becoming readable included; ok is false when the board is idle
// forever (waiting for a command).
func (b *Board) NextEvent() (t int64, ok bool) {
	t = b.next()
	if u, ok := b.tx.next(); ok && u < t {
		t = u
	}
	return t, t != never
}

// AdvanceTo runs the model until virtual time t (ns), doing everything due at or before t.
func (b *Board) AdvanceTo(t int64) {
	for {
		n := b.next()
		if n > t {
			break
		}
		b.now = n
		b.step()
	}
	if t > b.now {
		b.now = t
	}
	b.tx.advance(b.now)
}

// Release gives the board's transmit buffer back for another board: what
// was not read yet is lost, as on a board switched off. The board still
// works after it.
func (b *Board) Release() { b.tx.release() }

// Readable is how many bytes the UART has finished sending by Now() and
// Read has not returned yet.
func (b *Board) Readable() int {
	b.tx.advance(b.now)
	return b.tx.readable()
}

// Read copies bytes the UART has finished sending by Now() into p.
func (b *Board) Read(p []byte) int {
	b.tx.advance(b.now)
	return b.tx.read(p)
}

// ReadFrames hands the frames the UART has finished sending by Now() to
// fs, whole, up to max bytes of them, and returns how many bytes they take
// on the wire: Read without the bytes (an EV frame goes as its Event).
// A board is read with Read or with ReadFrames, not both.
func (b *Board) ReadFrames(fs *wire.Frames, max int) int {
	b.tx.advance(b.now)
	return b.tx.readFrames(fs, max)
}

// Receive takes host-to-board bytes arriving at Now(). Complete lines
// starting with '$' are decoded as commands; garbage, over-long lines and
// frames with a bad CRC are ignored, as are bytes received while booting.
func (b *Board) Receive(p []byte) {
	for _, c := range p {
		switch {
		case c == '$':
			b.rx = append(b.rx[:0], c)
			b.rxDrop = false
		case c == '\n':
			if len(b.rx) > 0 && !b.rxDrop {
				line := b.rx
				if line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
				b.line(line)
			}
			b.rx = b.rx[:0]
		case len(b.rx) == 0 || b.rxDrop:
			// garbage between frames
		case len(b.rx) >= wire.MaxFrame:
			b.rxDrop = true
		default:
			b.rx = append(b.rx, c)
		}
	}
}

func (b *Board) line(l []byte) {
	if b.booting {
		return
	}
	if err := wire.ParseFrame(l, &b.frameRx); err != nil {
		return
	}
	if !wire.IsCommand(b.frameRx.Type) {
		return // a board-to-host frame (an echo?): not for us
	}
	c, err := b.frameRx.Command()
	if err != nil {
		// A malformed command is not answered (the host retries), except
		// a fault the board does not know or with the wrong parameters.
		if (c.Type == wire.TypeSchedule || c.Type == wire.TypeFire) && c.Fault.Kind != "" && !b.repeated(c.ID) {
			b.nak(c.ID, "bad_fault")
		}
		return
	}
	if b.repeated(c.ID) {
		return
	}
	b.command(c)
}

// idMemory is how many answered command ids the board remembers.
const idMemory = 64

// answer is one remembered answer: reason "" is AK.
type answer struct {
	id     uint32
	reason string
	valid  bool
}

func (b *Board) remember(id uint32, reason string) {
	b.answered[b.ansNext] = answer{id: id, reason: reason, valid: true}
	b.ansNext = (b.ansNext + 1) % idMemory
}

// repeated answers c again if its id was answered since boot.
func (b *Board) repeated(id uint32) bool {
	for i := range b.answered {
		if a := &b.answered[i]; a.valid && a.id == id {
			if a.reason == "" {
				b.send(func(buf []byte) []byte { return wire.AppendAck(buf, id) })
			} else {
				b.send(func(buf []byte) []byte { return wire.AppendNak(buf, id, a.reason) })
			}
			return true
		}
	}
	return false
}

// send queues one unnumbered frame built by app.
func (b *Board) send(app func([]byte) []byte) {
	if b.quiet {
		return
	}
	buf := b.out()
	start := len(buf)
	b.tx.buf = app(buf)
	b.frame(start)
}

func (b *Board) ack(id uint32) {
	b.remember(id, "")
	if b.quiet {
		return
	}
	buf := b.out()
	start := len(buf)
	b.tx.buf = wire.AppendAck(buf, id)
	b.frame(start)
}

func (b *Board) nak(id uint32, reason string) {
	b.remember(id, reason)
	if b.quiet {
		return
	}
	buf := b.out()
	start := len(buf)
	b.tx.buf = wire.AppendNak(buf, id, reason)
	b.frame(start)
}

// command carries out one host command at Now() and answers it. Effects
// come before the AK (BX frames precede the AK of DP; DN the AK of SP);
// GO and RS answer first, then start the run or reset.
func (b *Board) command(c wire.Command) {
	if b.booting {
		return
	}
	switch c.Type {
	case wire.TypePing:
		if b.haveDN {
			b.send(func(buf []byte) []byte { return wire.AppendDone(buf, uint32(b.lastDN[0]), b.lastDN[1]) })
		}
	case wire.TypeIdentify:
		b.ack(c.ID)
		b.banner(bootReasons[b.bootReason], uint64(b.now-b.bootAt)/1000)
		return
	case wire.TypeConfig:
		if b.active {
			b.nak(c.ID, "busy")
			return
		}
		switch c.Key {
		case "trace":
			n, err := strconv.Atoi(c.Value)
			if err != nil || n < 0 || n > 2 {
				b.nak(c.ID, "bad_value")
				return
			}
			b.trace = n
		case "mutex":
			p, err := ParseProtocol(c.Value)
			if err != nil {
				b.nak(c.ID, "bad_value")
				return
			}
			b.proto = p
		default:
			b.nak(c.ID, "bad_key")
			return
		}
	case wire.TypeSchedule, wire.TypeFire:
		if c.At > maxMicros {
			b.nak(c.ID, "bad_value")
			return
		}
		if r := b.checkFault(&c.Fault); r != "" {
			b.nak(c.ID, r)
			return
		}
		if c.Type == wire.TypeFire {
			if !b.active {
				b.nak(c.ID, "idle")
				return
			}
			b.fireFault(c.Fault)
			if b.resched {
				b.schedule()
			}
			break
		}
		if len(b.stored)-len(b.freeSlots) >= maxStored {
			b.nak(c.ID, "full")
			return
		}
		// A fired fault's slot is reused, so a long run whose host keeps
		// the schedule topped up never fills the table.
		slot := int32(len(b.stored))
		if n := len(b.freeSlots); n > 0 {
			slot = b.freeSlots[n-1]
			b.freeSlots = b.freeSlots[:n-1]
			b.stored[slot] = storedFault{at: c.At, f: c.Fault}
		} else {
			b.stored = append(b.stored, storedFault{at: c.At, f: c.Fault})
		}
		if b.active {
			b.push(max(b.now, b.runStart+int64(c.At)*1000), tmFault, slot, 0)
		}
	case wire.TypeStart:
		if b.active {
			b.nak(c.ID, "busy")
			return
		}
		if c.Duration > maxMicros {
			b.nak(c.ID, "bad_value")
			return
		}
		b.ack(c.ID)
		b.haveDN = false
		b.start(c.Duration)
		return
	case wire.TypeStop:
		if b.active {
			b.endRun()
		} else {
			// Idle: faults scheduled for the next run are discarded, as
			// at the end of a run (PROTOCOL.md 2.4): SP leaves a board
			// that nothing is scheduled on, whatever copies of old SF
			// commands reached it.
			b.stored = b.stored[:0]
			b.freeSlots = b.freeSlots[:0]
		}
	case wire.TypeReset:
		b.ack(c.ID)
		b.reset(bootSW)
		return
	case wire.TypeDump:
		b.dump()
	default:
		b.nak(c.ID, "unsupported")
		return
	}
	b.ack(c.ID)
}

// maxMicros bounds GO durations and SF times (2^50 µs, about 35 years),
// so board times stay far from int64 overflow.
const maxMicros = 1 << 50

// maxStored is how many faults SF can schedule for one run.
const maxStored = 1024

func (b *Board) checkFault(f *wire.FaultCmd) string {
	switch f.Kind {
	case wire.FaultLoadBurst:
		if f.Length == 0 || f.Length > 1<<40 {
			return "bad_fault"
		}
	case wire.FaultIRQStorm:
		// The NVIC's 3 priority bits; the reference firmware's shortest period.
		if f.Priority < 0 || f.Priority > 7 || f.Period < 20 || f.Period > 1<<31-1 || f.Length == 0 || f.Length > 1<<40 {
			return "bad_fault"
		}
	case wire.FaultLockHold:
		if f.Task < 0 || f.Task >= len(b.tasks) {
			return "bad_task"
		}
		if f.Lock < 0 || f.Lock >= len(b.locks) || b.tasks[f.Task].usesLocks&(1<<uint(f.Lock)) == 0 {
			return "bad_lock" // out of range, or a lock the task never takes
		}
		if f.Extra == 0 || f.Extra > 1<<40 {
			return "bad_fault"
		}
	default:
		return "bad_fault"
	}
	return ""
}

// start begins a run: time 0 of the task set and of SF times.
func (b *Board) start(durationUs uint64) {
	b.active = true
	b.runStart = b.now
	b.ev(wire.EvRun, wire.NoTask, int64(durationUs))
	if durationUs > 0 {
		b.push(b.now+int64(durationUs)*1000, tmRunEnd, 0, 0)
	}
	for i := range b.tasks {
		b.push(b.now+b.tasks[i].offset, tmRelease, int32(i), 0)
	}
	for i, f := range b.stored {
		if !slices.Contains(b.freeSlots, int32(i)) {
			b.push(b.now+int64(f.at)*1000, tmFault, int32(i), 0)
		}
	}
	b.push(b.now+1e9, tmSummary, 0, 0)
	b.lastSM = b.now
	if b.wdTimeout > 0 {
		b.wdArmed = true
		b.wdAt = b.now + b.wdTimeout
	}
}

// endRun stops the run (duration over, or SP): final summaries, the CPU
// goes idle, DN.
func (b *Board) endRun() {
	if b.lastSM != b.now {
		b.summaries()
	}
	if b.onCPU != wire.NoTask {
		b.ev(wire.EvSwitch, wire.NoTask, int64(b.onCPU))
		b.onCPU = wire.NoTask
	}
	b.clearRun()
	if b.doneHook != nil {
		b.doneHook()
	}
	b.lastDN = [2]uint64{uint64(b.seq), uint64(b.now-b.bootAt) / 1000}
	b.haveDN = true
	if !b.quiet {
		buf := b.out()
		start := len(buf)
		b.tx.buf = wire.AppendDone(buf, b.seq, uint64(b.now-b.bootAt)/1000)
		b.frame(start)
	}
}

func (b *Board) watchdogExpired() {
	b.ev(wire.EvWatchdogExpiry, wire.NoTask, 0)
	b.wdts++
	b.reset(bootWDT)
}

// reset restarts the board: RAM is cleared except the .noinit area (boot
// count, black box); the BOOT banner follows after BootDelay.
func (b *Board) reset(reason int) {
	b.clearRun()
	b.bootAt = b.now
	b.seq = 0
	b.dropped = 0
	b.proto = b.cfg.Mutex
	b.trace = b.cfg.Trace
	b.booting = true
	b.onCPU = wire.NoTask
	b.rx = b.rx[:0]
	b.bootCount++
	b.bootReason = reason
	b.haveDN = false
	b.answered = [idMemory]answer{}
	b.push(b.now+int64(b.prof.BootDelay), tmBoot, 0, int64(reason))
}

func (b *Board) bootBanner(reason string) {
	b.booting = false
	b.banner(reason, uint64(b.now-b.bootAt)/1000)
}

// banner sends BT and the table: at boot, and again for ID.
func (b *Board) banner(reason string, uptime uint64) {
	if b.quiet {
		return
	}
	p := b.prof
	buf := b.out()
	start := len(buf)
	b.tx.buf = wire.AppendBoot(buf, wire.Boot{Name: p.Name + "-model", Version: p.Version, Build: Build,
		Reason: reason, BootCount: b.bootCount, Uptime: uptime, Proto: wire.ProtoV2})
	b.frame(start)
	for i := range b.tasks {
		tk := &b.tasks[i]
		start = len(b.tx.buf)
		b.tx.buf = wire.AppendTask(b.tx.buf, wire.TaskInfo{Index: i, Name: tk.name, Priority: tk.prio,
			Period: tk.period / 1000, Deadline: tk.deadline / 1000, Offset: tk.offset / 1000, WCET: tk.wcet})
		b.frame(start)
	}
	start = len(b.tx.buf)
	b.tx.buf = wire.AppendTask(b.tx.buf, wire.TaskInfo{Index: len(b.tasks), Name: LoadTaskName})
	b.frame(start)
	for i := range b.locks {
		start = len(b.tx.buf)
		b.tx.buf = wire.AppendLock(b.tx.buf, wire.LockInfo{Index: i, Name: p.Locks[i],
			Protocol: b.proto.String(), Ceiling: b.locks[i].ceiling})
		b.frame(start)
	}
	start = len(b.tx.buf)
	b.tx.buf = wire.AppendTableEnd(b.tx.buf, len(b.tasks)+1, len(b.locks))
	b.frame(start)
}

// dump sends the black box, oldest first, as BX frames.
func (b *Board) dump() {
	if b.quiet {
		return
	}
	for _, e := range b.BlackBox() {
		buf := b.out()
		start := len(buf)
		b.tx.buf = wire.AppendBlackBox(buf, e)
		b.frame(start)
	}
}

// BlackBox returns the recorded events, oldest first (Seq is the index).
func (b *Board) BlackBox() []wire.Event {
	out := make([]wire.Event, b.bbLen)
	first := (b.bbNext - b.bbLen + blackBoxSize) % blackBoxSize
	for i := range out {
		out[i] = b.bb[(first+i)%blackBoxSize]
		out[i].Seq = uint32(i)
	}
	return out
}
