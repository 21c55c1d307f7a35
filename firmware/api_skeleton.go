// Package firmware is the bundled reference firmware: a discrete-event model
// of a single-CPU, fixed-priority, preemptive RTOS board that speaks the
// hilchaos wire protocol on a simulated UART.
package firmware

import "time"

// Protocol is a mutex protocol.
type Protocol uint8

const (
	ProtoNone    Protocol = iota // plain mutex: unbounded priority inversion possible
	ProtoInherit                 // priority inheritance
	ProtoCeiling                 // immediate priority ceiling
)

func (p Protocol) String() string              { panic("todo") } // "none", "inherit", "ceiling"
func ParseProtocol(s string) (Protocol, error) { panic("todo") }

// SegKind is the kind of one step of a task body.
type SegKind uint8

const (
	SegCompute SegKind = iota // consume CPU for a time drawn from [Best, Worst]
	SegLock                   // acquire Lock
	SegUnlock                 // release Lock
)

// Segment is one step of a task's body.
type Segment struct {
	Kind        SegKind
	Lock        string
	Best, Worst time.Duration
}

// TaskSpec declares one periodic task.
type TaskSpec struct {
	Name     string
	Priority int // larger is more urgent
	Period   time.Duration
	Deadline time.Duration // relative; 0 means equal to Period
	Offset   time.Duration // first release after the run starts
	Body     []Segment
	// KicksWatchdog: the task kicks the hardware watchdog at the end of each job.
	KicksWatchdog bool
}

// Monitor is a bc_sched-style cycle monitor: at the end of each job of Task,
// if the latest job of Watched released before this job's release has not
// finished, the board reports a deadline miss for Watched and Task does not
// kick the watchdog, so the hardware watchdog resets the board.
type Monitor struct {
	Task    string
	Watched string
}

// Profile is a task set and the board around it.
type Profile struct {
	Name      string
	Version   string
	Tasks     []TaskSpec
	Locks     []string
	Watchdog  time.Duration // hardware watchdog timeout; 0 disables it
	Monitor   *Monitor
	BootDelay time.Duration // time from reset to the BOOT banner
}

// Lookup returns a copy of a built-in profile ("pathfinder", ...).
func Lookup(name string) (*Profile, error) { panic("todo") }

// Profiles lists the built-in profile names.
func Profiles() []string { panic("todo") }

// LoadProfile reads a task set from a YAML file.
func LoadProfile(path string) (*Profile, error) { panic("todo") }

// Validate reports every problem in p.
func (p *Profile) Validate() error { panic("todo") }

// Config is how one board instance is built.
type Config struct {
	Mutex    Protocol
	Baud     int    // UART baud rate; 0 means an infinitely fast link
	Trace    int    // 0 summaries, 1 default, 2 full (adds ST, CS and PR events)
	Seed     uint64 // draws execution times
	TxBuffer int    // UART transmit buffer in bytes; 0 means 4096
}

// Board is one simulated board. It is not safe for concurrent use.
type Board struct{ impl }

// NewBoard powers a board on at virtual time 0.
func NewBoard(p *Profile, cfg Config) (*Board, error) { panic("todo") }

// Now is the virtual time in ns since power-on (not since the last reset).
func (b *Board) Now() int64 { panic("todo") }

// NextEvent returns the time of the next thing the board will do, output
// bytes becoming readable included; ok is false when the board is idle
// forever (waiting for a command).
func (b *Board) NextEvent() (t int64, ok bool) { panic("todo") }

// AdvanceTo runs the model until virtual time t (ns), doing everything due at or before t.
func (b *Board) AdvanceTo(t int64) { panic("todo") }

// Receive takes host-to-board bytes arriving at Now().
func (b *Board) Receive(p []byte) { panic("todo") }

// Read copies bytes the UART has finished sending by Now() into p.
func (b *Board) Read(p []byte) int { panic("todo") }

type impl struct{}
