package harness

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hilchaos/hilchaos/faults"
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
)

// maxBlackBoxes is how many resets (the first ones) keep their black box in
// the record.
const maxBlackBoxes = drive.MaxBlackBoxes

// Observation is what driving one run produced, before scoring.
type Observation struct {
	*drive.Observation
	Link *LinkInfo // real links only: gaps and clock drift
}

// newIDs is a command id source starting at a random id.
func newIDs() *drive.IDs { return drive.NewIDs(rand.Uint32() >> 1) }

// driveConfig is the driver's input for plan of c.
func driveConfig(c *Campaign, plan RunPlan, raw io.Writer) drive.Config {
	specs := map[*FaultSpec]int{}
	var list []*FaultSpec
	fs := make([]drive.Fault, len(plan.Faults))
	for i, pf := range plan.Faults {
		k, ok := specs[pf.spec]
		if !ok {
			k = len(list)
			specs[pf.spec] = k
			list = append(list, pf.spec)
		}
		fs[i] = drive.Fault{ID: pf.ID, AtUS: pf.At, Spec: k}
	}
	return drive.Config{
		Timeouts: drive.Timeouts{Boot: c.Timeouts.Boot, Liveness: c.Timeouts.Liveness},
		Trace:    c.Trace,
		Duration: plan.Duration.Microseconds(),
		Faults:   fs,
		Resolve: func(tbl *wire.Table, spec int) (wire.FaultCmd, error) {
			return list[spec].Fault.Command(tbl)
		},
		FaultName: func(spec int) string { return list[spec].Name },
		BurstPriority: func(id uint32) (int, bool) {
			if int(id) < len(plan.Faults) && plan.Faults[id].ID == id {
				if lb, ok := plan.Faults[id].spec.Fault.(*faults.LoadBurst); ok {
					return lb.Priority, true
				}
			}
			return 0, false
		},
		Raw: raw,
	}
}

// driveRun runs plan on an open target and returns what it observed.
func driveRun(ctx context.Context, t targets.Target, c *Campaign, plan RunPlan, raw io.Writer, ids *drive.IDs) (*Observation, error) {
	cfg := driveConfig(c, plan, raw)
	cfg.IDs = ids
	o, err := drive.Run(ctx, t, cfg)
	obs := &Observation{Observation: o}
	if o != nil {
		obs.Link = linkInfo(t, o)
	}
	return obs, err
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
	return li
}

func telemetryOf(t drive.Telemetry) Telemetry {
	return Telemetry{Frames: t.Frames, BadCRC: t.BadCRC, Malformed: t.Malformed, TooLong: t.TooLong,
		Garbage: t.Garbage, Lost: t.Lost, Dropped: t.Dropped, Truncated: t.Truncated, Gaps: t.Gaps,
		Console: t.Console, Retries: t.Retries, Reasks: t.Reasks}
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
