// Package wire is the hilchaos line protocol between a host and a board:
// frame types, the event vocabulary, an allocation-free decoder and an
// appending encoder. docs/PROTOCOL.md is the normative description.
package wire

// MaxFrame is the longest frame allowed on the line, counting the leading
// '$' and the trailing '\n' (and '\r' if present). Longer lines are skipped
// and counted as too long.
const MaxFrame = 128

// MaxFields is the most comma-separated fields a frame may carry after its type.
const MaxFields = 12

// Type is a frame type, written on the line as two uppercase letters.
type Type uint8

// Frame types. Board to host first, then host to board.
const (
	TypeInvalid  Type = iota
	TypeBoot          // BT name,version,build,reason,bootcount,uptime_us[,proto]
	TypeTask          // TK idx,name,prio,period_us,deadline_us,offset_us,wcet_us
	TypeLock          // LK idx,name,protocol,ceiling
	TypeTableEnd      // TE ntasks,nlocks
	TypeEvent         // EV seq,time_us,kind[,task[,arg]]
	TypeSummary       // SM seq,time_us,task,jobs,max_resp_us,misses
	TypeAck           // AK id
	TypeNak           // NK id,reason
	TypeDone          // DN seq,time_us   (the started run has lasted its duration)
	TypeBlackBox      // BX n,time_us,kind[,task[,arg]]  (post-mortem replay)
	TypePing          // PG id
	TypeConfig        // CF id,key,value
	TypeSchedule      // SF id,at_us,fault,kind,params...
	TypeFire          // FN id,fault,kind,params...
	TypeStart         // GO id,duration_us
	TypeStop          // SP id
	TypeReset         // RS id
	TypeDump          // DP id
	TypeIdentify      // ID id   (v2: send BT and the table again)
	TypeCrash         // CR time_us,task,pc,lr,xpsr,cfsr  (board to host: a fault handler ran)
	numTypes
)

var typeNames = [numTypes][2]byte{
	TypeBoot: {'B', 'T'}, TypeTask: {'T', 'K'}, TypeLock: {'L', 'K'},
	TypeTableEnd: {'T', 'E'}, TypeEvent: {'E', 'V'}, TypeSummary: {'S', 'M'},
	TypeAck: {'A', 'K'}, TypeNak: {'N', 'K'}, TypeDone: {'D', 'N'},
	TypeBlackBox: {'B', 'X'}, TypePing: {'P', 'G'}, TypeConfig: {'C', 'F'},
	TypeSchedule: {'S', 'F'}, TypeFire: {'F', 'N'}, TypeStart: {'G', 'O'},
	TypeStop: {'S', 'P'}, TypeReset: {'R', 'S'}, TypeDump: {'D', 'P'},
	TypeIdentify: {'I', 'D'},
	TypeCrash:    {'C', 'R'},
}

// TypeConsole is not on the wire: a Reader returns a console line (a whole
// line that is not a frame, PROTOCOL.md 1.4) as a Frame of this type, the
// text in Line, when asked to with ReportConsole.
const TypeConsole Type = 0xFF

// String returns the two-letter code of t, "console", or "??".
func (t Type) String() string {
	if t == TypeConsole {
		return "console"
	}
	if t == TypeInvalid || t >= numTypes {
		return "??"
	}
	return string(typeNames[t][:])
}

// EventKind is what an EV frame reports, two uppercase letters on the line.
type EventKind uint8

// Event kinds. Task is the task index from the TK table; Arg depends on the kind.
const (
	EvInvalid        EventKind = iota
	EvRelease                  // RL task released a job; arg = job number
	EvStart                    // ST task's job got the CPU for the first time
	EvEnd                      // EN task's job completed; arg = response time in µs
	EvBlock                    // BL task blocked on lock arg
	EvLock                     // LK task acquired lock arg
	EvUnlock                   // UL task released lock arg
	EvSwitch                   // CS context switch to task (-1 idle) from task arg (-1 idle)
	EvDeadlineMiss             // DM task's job passed its deadline; arg = job number
	EvWatchdogKick             // WK watchdog kicked by task
	EvWatchdogExpiry           // WX watchdog expired; the board resets next
	EvFaultBegin               // FB fault arg (host fault id) began; task = affected task or -1
	EvFaultEnd                 // FE fault arg ended
	EvDropped                  // DR arg events were dropped since the last DR
	EvPriority                 // PR task's effective priority changed to arg (inheritance/ceiling)
	EvRun                      // GO the run started (GO command); arg = duration in µs; time 0 of the task set and of SF times
	numEventKinds
)

var eventNames = [numEventKinds][2]byte{
	EvRelease: {'R', 'L'}, EvStart: {'S', 'T'}, EvEnd: {'E', 'N'},
	EvBlock: {'B', 'L'}, EvLock: {'L', 'K'}, EvUnlock: {'U', 'L'},
	EvSwitch: {'C', 'S'}, EvDeadlineMiss: {'D', 'M'}, EvWatchdogKick: {'W', 'K'},
	EvWatchdogExpiry: {'W', 'X'}, EvFaultBegin: {'F', 'B'}, EvFaultEnd: {'F', 'E'},
	EvDropped: {'D', 'R'}, EvPriority: {'P', 'R'}, EvRun: {'G', 'O'},
}

// String returns the two-letter code of k, or "??".
func (k EventKind) String() string {
	if k == EvInvalid || k >= numEventKinds {
		return "??"
	}
	return string(eventNames[k][:])
}

// NoTask marks an event that concerns no task (or the idle task in EvSwitch).
const NoTask = -1

// Event is one decoded EV (or BX) frame. Time is the board clock in µs since
// the board's last boot; Seq is the board's frame sequence number, shared by
// EV and SM frames and starting at 0 at boot, so a restart of Seq means the
// board rebooted and a gap means frames were lost (docs/PROTOCOL.md). In a
// BX frame Seq is the replay index instead.
type Event struct {
	Seq  uint32
	Time uint64
	Kind EventKind
	Task int32
	Arg  int64
}

// Reset reasons carried by the BT frame.
const (
	ReasonPowerOn  = "POR"
	ReasonWatchdog = "WDT"
	ReasonSoftware = "SW"
	ReasonBrownOut = "BOR" // v2: the supply dipped
)

// Crash is a decoded CR frame: the registers a Cortex-M fault handler found
// stacked, sent just before the board resets itself (reason CRASH).
type Crash struct {
	Time uint64 // µs since boot
	Task int32  // the task that was running, -1 for none
	PC   uint32 // stacked program counter: where the fault happened
	LR   uint32 // stacked link register: where that function was called from
	XPSR uint32
	CFSR uint32 // Configurable Fault Status Register (0 on cores without one)
}

// Boot is a decoded BT frame.
type Boot struct {
	Name      string
	Version   string
	Build     string
	Reason    string
	BootCount uint32
	Uptime    uint64 // µs since reset when the banner was sent
	// Proto is the protocol version the board speaks: 1 for a banner
	// without the field (a v1 board), else the field's value.
	Proto uint32
}

// Protocol versions.
const (
	ProtoV1 = 1
	ProtoV2 = 2
)

// TaskInfo is a decoded TK frame: one declared task.
type TaskInfo struct {
	Index    int
	Name     string
	Priority int   // larger is more urgent
	Period   int64 // µs; 0 for a sporadic task
	Deadline int64 // µs, relative to release
	Offset   int64 // µs, first release after start
	WCET     int64 // µs, declared worst-case execution time (0 if unknown)
}

// LockInfo is a decoded LK frame: one declared lock.
type LockInfo struct {
	Index    int
	Name     string
	Protocol string // none, inherit, ceiling
	Ceiling  int    // priority ceiling (highest priority of any user)
}

// Summary is a decoded SM frame: one task's figures since the last summary.
type Summary struct {
	Seq     uint32
	Time    uint64
	Task    int32
	Jobs    uint32
	MaxResp int64
	Misses  uint32
}

// Fault kinds on the line (SF/FN frames).
const (
	FaultLoadBurst = "LB" // params: priority,length_us
	FaultLockHold  = "LH" // params: task,lock,extra_us
	FaultIRQStorm  = "IS" // params: priority,period_us,length_us
)

// Command is a decoded host-to-board frame (PG, CF, SF, FN, GO, SP, RS, DP).
// Which fields mean something depends on Type.
type Command struct {
	Type     Type
	ID       uint32 // echoed in the AK/NK answer
	Key      string // CF: "trace" (0 summary, 1 default, 2 full) or "mutex" (none, inherit, ceiling)
	Value    string // CF
	At       uint64 // SF: µs after the run's start (the GO command)
	Duration uint64 // GO: run length in µs; 0 runs until SP
	Fault    FaultCmd
}

// FaultCmd is the fault carried by SF and FN.
type FaultCmd struct {
	ID       uint32 // host-chosen fault id, echoed in FB/FE events
	Kind     string // FaultLoadBurst, FaultLockHold or FaultIRQStorm
	Priority int    // LB: priority of the CPU-bound job; IS: interrupt priority (0 most urgent)
	Length   uint64 // LB: µs of CPU the burst consumes; IS: µs the storm lasts
	Period   uint64 // IS: µs from one interrupt to the next
	Task     int    // LH: task index whose critical section is lengthened
	Lock     int    // LH: lock index
	Extra    uint64 // LH: µs added to the next critical section of Task on Lock
}
