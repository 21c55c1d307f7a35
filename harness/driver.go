package harness

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hilchaos/hilchaos/harness/drive"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// The run driver lives in harness/drive; these names keep the harness's
// callers and the record schema as they were.
type (
	InfraError   = drive.InfraError
	RefusedError = drive.RefusedError
	BrickError   = drive.BrickError
)

// maxBlackBoxes is how many resets (the first ones) keep their black box in
// the record.
const maxBlackBoxes = drive.MaxBlackBoxes

// Observation is what driving one run produced, before scoring.
type Observation struct {
	*drive.Observation
	Link          *LinkInfo      // real links only: gaps and clock drift
	Faults        []PlannedFault // the first MaxFaultLog firings planned on this board
	FaultsPlanned int            // every firing planned on this board
	Crashes       []Crash        // crash frames, symbolized when the target knows its ELF

	// traceStored, when the run has a trace, syncs and closes it once
	// its log is written, and returns why it is not on disk (observe
	// hands the trace over without waiting: tracelog's CloseAsync).
	traceStored func() error
}

// newIDs is a command id source starting at a random id. Every id it gives
// for the next two billion commands has ten digits: the length of a
// command on the line never depends on the draw, so a simulated board,
// whose UART takes time per byte, runs the same for the same seed.
func newIDs() *drive.IDs { return drive.NewIDs(1_000_000_000 + rand.Uint32N(1_000_000_000)) }

// driveConfig is the driver's input for plan of c. The plan is bound to
// the table the board declares when it boots (Campaign.bind): its faults
// are phased against that board's tasks and generated as the run goes.
// underTest marks the board under test, whose table must also match the
// reference's. bound receives the bound faults, for the record.
func driveConfig(c *Campaign, plan RunPlan, raw io.Writer, target string, underTest bool, bound **boardFaults) drive.Config {
	var bf *boardFaults
	return drive.Config{
		Timeouts: drive.Timeouts{Boot: c.Timeouts.Boot, Liveness: c.Timeouts.Liveness},
		Trace:    c.Trace,
		Duration: plan.Duration.Microseconds(),
		Plan: func(tbl *wire.Table) (drive.Source, error) {
			var err error
			bf, err = c.bind(target, tbl, &plan, underTest)
			if bound != nil {
				*bound = bf
			}
			if err != nil {
				return nil, err
			}
			return bf, nil
		},
		BurstPriority: func(id uint32) (int, bool) {
			if bf == nil {
				return 0, false
			}
			return bf.burstPriority(id)
		},
		Raw: raw,
	}
}

// driveRun runs plan on an open target and returns what it observed.
func driveRun(ctx context.Context, t targets.Target, c *Campaign, plan RunPlan, raw io.Writer, ids *drive.IDs, underTest bool) (*Observation, error) {
	return driveRunPower(ctx, t, c, plan, raw, ids, underTest, powerFor(t, nil))
}

// driveRunPower is driveRun with the power cycles carried out by power.
func driveRunPower(ctx context.Context, t targets.Target, c *Campaign, plan RunPlan, raw io.Writer, ids *drive.IDs, underTest bool, power func(context.Context, time.Duration) (targets.PowerReport, error)) (*Observation, error) {
	var bf *boardFaults
	cfg := driveConfig(c, plan, raw, t.Name(), underTest, &bf)
	cfg.PowerCycle = power
	// A target that owns time (the simulator) is a fresh board at every
	// open, with no memory of ids: its ids start at 1 in every run, so a
	// run is the same bytes whether it runs alone or in a campaign (an id's
	// digits take UART time).
	if _, owns := t.(targets.Clock); !owns {
		cfg.IDs = ids
	}
	o, err := drive.Run(ctx, t, cfg)
	obs := &Observation{Observation: o}
	if bf != nil {
		obs.Faults, obs.FaultsPlanned = bf.log, bf.planned
	}
	if o != nil {
		obs.Link = linkInfo(t, o)
		obs.Crashes = crashes(t, o)
	}
	return obs, err
}

// crashes resolves the crash frames' task names and, when the target
// knows the firmware's ELF, where PC and LR lie in it.
func crashes(t targets.Target, o *drive.Observation) []Crash {
	var out []Crash
	sym, _ := t.(targets.Symbolizer)
	at := func(addr uint32) *CodeLoc {
		if sym == nil {
			return nil
		}
		fn, file, line, ok := sym.Symbolize(uint64(addr))
		if !ok {
			return nil
		}
		return &CodeLoc{Function: fn, File: file, Line: line}
	}
	for _, c := range o.Crashes {
		r := Crash{AtUS: c.AtUS, PC: c.PC, LR: c.LR, XPSR: c.XPSR, CFSR: c.CFSR, At: at(c.PC), From: at(c.LR)}
		if c.Task >= 0 {
			r.Task = o.Table.TaskName(c.Task)
		}
		out = append(out, r)
	}
	return out
}

// witness sets the resets a target saw by itself against the reboots the
// board announced (the first MaxResetLog of them).
func witness(seen []targets.WitnessedReset, o *drive.Observation) *ResetWitness {
	rw := &ResetWitness{}
	for _, w := range seen {
		switch w.Kind {
		case "watchdog":
			rw.Watchdog++
		case "reset":
			rw.Resets++
		}
	}
	for _, r := range o.Resets {
		if r.Reason == "" {
			continue // a hang whose reboot never came, or a banner lost
		}
		rw.BoardReboots++
		if r.Reason == wire.ReasonWatchdog {
			rw.BoardWatchdog++
		}
	}
	if len(o.Resets) == o.ResetCount {
		switch {
		case rw.Watchdog != rw.BoardWatchdog:
			rw.Disagreement = fmt.Sprintf("the target saw the watchdog fire %d times, the board announced %d watchdog reboots", rw.Watchdog, rw.BoardWatchdog)
		case rw.Resets != rw.BoardReboots:
			rw.Disagreement = fmt.Sprintf("the target saw %d resets, the board announced %d reboots", rw.Resets, rw.BoardReboots)
		}
		rw.Agrees = rw.Disagreement == ""
	} else {
		rw.Disagreement = fmt.Sprintf("only the first %d of %d resets are listed: not compared", len(o.Resets), o.ResetCount)
	}
	return rw
}

// linkInfo is what the driver saw of a real link: the target's gaps and
// the clock fit. The simulator, which owns time, has none.
func linkInfo(t targets.Target, o *drive.Observation) *LinkInfo {
	if _, owns := t.(targets.Clock); owns {
		return nil
	}
	li := &LinkInfo{Gaps: []LinkGap{}}
	if d := o.Clock; d != nil {
		li.Clock = &ClockDrift{Frames: d.Frames, DriftPPM: d.DriftPPM, OffsetUS: d.OffsetUS, JitterUS: d.JitterUS}
	}
	if g, ok := t.(targets.GapReporter); ok {
		for _, gap := range g.Gaps() {
			li.Gaps = append(li.Gaps, LinkGap{
				Start:      gap.Start.UTC().Format(time.RFC3339Nano),
				End:        gap.End.UTC().Format(time.RFC3339Nano),
				DurationMS: math.Round(float64(gap.End.Sub(gap.Start))/1e4) / 100,
				Cause:      gap.Cause,
			})
		}
	}
	if w, ok := t.(targets.ResetWitness); ok {
		li.Witness = witness(w.WitnessedResets(), o)
	}
	return li
}

func telemetryOf(t drive.Telemetry) Telemetry {
	return Telemetry{Frames: t.Frames, BadCRC: t.BadCRC, Malformed: t.Malformed, TooLong: t.TooLong,
		Garbage: t.Garbage, Lost: t.Lost, Dropped: t.Dropped, Truncated: t.Truncated, Gaps: t.Gaps,
		Console: t.Console, Retries: t.Retries, Reasks: t.Reasks, Stalls: t.Stalls}
}

func resetsOf(rs []drive.Reset) []ResetEvent {
	out := make([]ResetEvent, len(rs))
	for i, r := range rs {
		out[i] = ResetEvent{AtUS: r.AtUS, Kind: r.Kind, Reason: r.Reason, BootCount: r.BootCount, HostNS: r.HostNS,
			Console: consoleOf(r.Console)}
	}
	return out
}

func consoleOf(ls []drive.ConsoleLine) []record.ConsoleLine {
	if len(ls) == 0 {
		return nil
	}
	out := make([]record.ConsoleLine, len(ls))
	for i, l := range ls {
		out[i] = record.ConsoleLine{AtUS: l.AtUS, HostUS: l.HostUS, Text: l.Text}
	}
	return out
}

// fillDriven copies what the driver saw beyond the figures into rec.
func fillDriven(rec *RunRecord, o *drive.Observation) {
	rec.Protocol = o.Proto
	if o.Telemetry.Console > 0 {
		rec.Console = &record.Console{Lines: o.Telemetry.Console, Last: consoleOf(o.Console)}
	}
}
