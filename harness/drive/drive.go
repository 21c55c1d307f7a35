// Package drive runs one run over one Target: the protocol state machine
// of docs/PROTOCOL.md. It waits for the board's banner and table, configures
// it, uploads the fault schedule, starts the run, follows it across resets
// and returns what it observed. It knows nothing of campaigns or records:
// its input is a Config and its output an Observation.
package drive

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Reset kinds, as counted in an observation: the record's.
const (
	ResetWatchdog = record.ResetWatchdog
	ResetSoftware = record.ResetSoftware
	ResetPowerOn  = record.ResetPowerOn
	ResetHang     = record.ResetHang
	ResetUnknown  = record.ResetUnknown  // the sequence restarted without a BOOT banner
	ResetExpected = record.ResetExpected // a kind the campaign's expect_resets allows
	// ResetPowerCycle is a reboot the host caused with a power-cycle fault.
	ResetPowerCycle = record.ResetPowerCycle
)

// MaxResetLog is how many resets (the first ones) an observation lists one
// by one; the counts always cover every reset. A board that resets all
// night keeps an observation, and a harness, of bounded size.
const MaxResetLog = record.MaxResetLog

// MaxBlackBoxes is how many resets (the first ones) keep their black box,
// so a soak that resets all night keeps a record of sane size.
const MaxBlackBoxes = 10

// Timeouts bound how long the driver waits for a board.
type Timeouts struct {
	Boot     time.Duration // from connect or reset to the BOOT banner and table; also each command's timeout
	Liveness time.Duration // silence during a run that counts as a hang
	// Retry is how long the driver waits for an answer before it sends a
	// command again with the same id; 0 means a tenth of Boot, at least
	// 50 ms.
	Retry time.Duration
}

// Fault is one planned firing, in run time.
type Fault struct {
	ID   uint32 // the fault id the board reports in FB/FE
	AtUS int64  // run time, µs after the run started
	Spec int    // which campaign fault this is a firing of: resolved once per Spec
	// Power marks a power cycle: the host carries it out itself at AtUS
	// (Config.PowerCycle), with the board kept off for Off; it is never
	// sent to the board.
	Power bool
	Off   time.Duration
	Name  string // the campaign fault's name, for the record of a power cycle
}

// Config is everything one run needs, already decided by the caller.
type Config struct {
	Timeouts Timeouts
	Trace    int   // trace level sent with CF trace
	Duration int64 // board time the run lasts, µs
	// Faults are the planned firings, sorted by AtUS.
	Faults []Fault
	// Plan, if not nil, stands for Faults and Resolve: given the table the
	// board declared, it checks the campaign against that table and
	// returns the run's firings phased against it, each with its command,
	// generated as the run asks for them (a run of any length keeps only
	// the next few seconds of its plan). Its error ends the run as is.
	Plan func(tbl *wire.Table) (Source, error)
	// Resolve turns campaign fault spec into the command this board
	// understands, given the table it declared. Called once per Spec.
	Resolve func(tbl *wire.Table, spec int) (wire.FaultCmd, error)
	// FaultName names spec in errors.
	FaultName func(spec int) string
	// BurstPriority gives the priority of load-burst fault id, for the
	// analysis of inversions; nil means none is known.
	BurstPriority func(id uint32) (int, bool)
	// PowerCycle switches the board's power off for off and on again:
	// the target's own (targets.PowerCycler) or the rig's power argv.
	// Nil when neither exists; a plan with a power cycle then ends the
	// run with an error (the harness refuses such a campaign before it
	// starts).
	PowerCycle func(ctx context.Context, off time.Duration) (targets.PowerReport, error)
	// Raw, if not nil, receives the wire stream as received.
	Raw io.Writer
	// IDs gives command ids; nil means a counter private to this run.
	// Share one across the runs of a campaign so ids never repeat.
	IDs *IDs

	onGap func(t int64) // tests: sees every gap the analyzer is told of
}

// Source yields a run's firings in time order with the command each is on
// this board; false when there are no more.
type Source interface {
	Next() (Fault, wire.FaultCmd, bool)
}

// sliceSource is Faults resolved once per spec.
type sliceSource struct {
	faults []Fault
	cmds   map[int]wire.FaultCmd
}

func (s *sliceSource) Next() (Fault, wire.FaultCmd, bool) {
	if len(s.faults) == 0 {
		return Fault{}, wire.FaultCmd{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	fc := s.cmds[f.Spec]
	fc.ID = f.ID
	return f, fc, true
}

// Telemetry counts what came over the line.
type Telemetry struct {
	Frames    uint64
	BadCRC    uint64
	Malformed uint64
	TooLong   uint64
	Truncated uint64
	Garbage   uint64
	Lost      uint64 // EV/SM frames missing in sequence gaps
	Gaps      uint64 // sequence gaps (each ends the spans open across it)
	Dropped   uint64 // frames the board reported dropping (DR)
	Console   uint64 // console lines
	Retries   uint64 // commands sent again with the same id
	Reasks    uint64 // ID commands sent because the banner or table was lost
	Stalls    uint64 // silences past the liveness timeout that ended when the board was asked
}

// Firmware is the identity a board gave in its BOOT banner.
type Firmware struct {
	Name    string
	Version string
	Build   string
}

// Reset is one reset seen during a run.
type Reset struct {
	AtUS      int64  // run time of the last event before it
	Kind      string // one of the Reset* kinds
	Reason    string // as the board gave it in BOOT
	BootCount uint32
	// HostNS is the target clock (virtual for sim) when the driver noted
	// the reset, ns since the run's connect.
	HostNS int64
	// Console is the last console lines (at most MaxConsoleKept) received
	// before the driver noted the reset, oldest first.
	Console []ConsoleLine
}

// ConsoleLine is one line of the board's console (PROTOCOL.md 1.4).
type ConsoleLine struct {
	AtUS   int64  // run time of the last event received before it
	HostUS int64  // host receive time, µs since the run's connect
	Text   string //
}

// MaxConsoleKept is how many console lines are kept: the last ones before
// each reset, and the last ones of the run.
const MaxConsoleKept = 20

// Observation is what driving one run produced, before scoring.
type Observation struct {
	Firmware      Firmware
	Table         wire.Table
	Resets        []Reset        // the first MaxResetLog resets
	ResetCount    int            // every reset
	ResetKinds    map[string]int // every reset by kind
	Telemetry     Telemetry
	FaultsSkipped int            // planned faults that fell into a reboot
	BlackBoxes    [][]wire.Event // per reset, for the first MaxBlackBoxes (nil unless watchdog), run time
	EndUS         int64
	Analyzer      *analyze.Analyzer
	// Clock is the fit of host receive times against board time on a real
	// link; nil for a target that owns time (sim) or with too few frames.
	Clock *ClockDrift
	// Console is the last console lines of the run (MaxConsoleKept),
	// oldest first; Telemetry.Console counts them all.
	Console []ConsoleLine
	// Proto is the protocol version the board announced (1 or 2).
	Proto uint32
	// Crashes are the crash frames (CR) the board sent, the first MaxCrashes.
	Crashes []Crash
	// PowerCycles are the power cycles the host carried out (the first
	// MaxResetLog); each is also a reset of kind ResetPowerCycle.
	PowerCycles []record.PowerCycle
}

// MaxCrashes is how many crash frames a run keeps.
const MaxCrashes = 100

// Crash is one crash frame and the run time of the last event before it.
type Crash struct {
	AtUS int64
	wire.Crash
}

// InfraError is a failure of the rig, not of the firmware: the port is
// gone, the board never booted, the link is dead.
type InfraError struct {
	Target string
	Err    error
}

func (e *InfraError) Error() string { return fmt.Sprintf("%s: %v", e.Target, e.Err) }
func (e *InfraError) Unwrap() error { return e.Err }

// BrickError is a board that did not boot again within the boot timeout
// after a reset, while the link stayed up (reads timed out, they did not
// fail): the firmware did not come back. It is a firmware failure, not a
// rig error; a link that is gone is an InfraError.
type BrickError struct {
	Target  string
	After   string // the kind of the reset before the silence
	AtUS    int64  // run time of that reset
	Timeout time.Duration
}

func (e *BrickError) Error() string {
	return fmt.Sprintf("%s: no BOOT banner and task table within %v after the %s reset at t=%.3f s: the board did not come back (brick)",
		e.Target, e.Timeout, e.After, float64(e.AtUS)/1e6)
}

// RefusedError is a board that refused a command the driver needs (NK).
type RefusedError struct {
	Target  string
	Command string
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: board refused %s: %s", e.Target, e.Command, e.Reason)
}
