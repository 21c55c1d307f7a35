package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/drive"
	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/score"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets"
	_ "github.com/hilchaos/hilchaos/targets/sim" // the sim:// scheme
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Version is the harness version written into every record.
var Version = "0.1.0-dev"

// Options steer a campaign's execution.
type Options struct {
	// Store, if not nil, receives every record, in plan order, once the
	// run's trace is on disk. The next run on the same rig may start
	// meanwhile (see runPlans).
	Store *Store
	// Progress, if not nil, is told about each finished run once its
	// record is stored, in plan order, on a goroutine of the campaign's
	// (not the caller's), which may call it while Started is called.
	Progress func(done, total int, r *RunRecord)
	// Started, if not nil, is told when a run starts.
	Started func(p RunPlan)
	// Now is the wall clock for host facts; nil means time.Now.
	Now func() time.Time
	// Done holds records of runs finished by an earlier invocation
	// (--resume): a planned run with the same key is not run again, and
	// its stored record stands in for it.
	Done map[RunKey]RunRecord
	// IDs gives the command ids of every run, so that no two commands of
	// a campaign share an id (a board remembers the ids it answered, and
	// does not act on a repeated one). Nil: ExecuteRuns makes one whose
	// first id is random, so two invocations against the same board do
	// not collide either.
	IDs *drive.IDs
	// Stop, when closed, asks for a graceful stop: the run in progress
	// finishes and is stored, no further run starts, and Execute returns
	// the summary so far with ErrInterrupted.
	Stop <-chan struct{}
	// Parallel is how many runs go at once when every run gets a board of
	// its own (sim://, qemu://; see Instanced): 0 or 1, one at a time. The
	// records, their order and the summary are the same whatever it is.
	Parallel int
	// Rigs, if not nil, is the pool of rigs the runs fan out over, one run
	// per rig at a time; records name their rig. It overrides Parallel.
	Rigs *farm.Pool
	// Firmware, if set, is the image under test (run --firmware): each rig
	// with a flash argv is flashed with it before its first run, and a
	// qemu:// target boots it.
	Firmware string
	// FirmwareBuild, if set, is the build id every board must report in
	// its banner (the image's GNU build id): another one is a rig error
	// naming both.
	FirmwareBuild string
	// TraceDir, with no Store, is the results directory the trace goes to
	// (an agent's scratch directory).
	TraceDir string
}

// ErrInterrupted is returned when Options.Stop ended a campaign early.
var ErrInterrupted = errors.New("interrupted: stopped before every run was done")

func (opt *Options) stopped() bool {
	select {
	case <-opt.Stop:
		return true
	default:
		return false
	}
}

// one runs plan p (with the campaign's on_rig_error retries), or takes its
// record from opt.Done, and stores a new record before returning. A run
// that stayed in a rig error returns its record and a *StayedInError.
func (opt *Options) one(ctx context.Context, c *Campaign, p RunPlan) (*RunRecord, error) {
	var got *RunRecord
	if opt.IDs == nil {
		opt.IDs = newIDs()
	}
	err := opt.runPlans(ctx, c, []RunPlan{p}, func(rec *RunRecord) { got = rec })
	if err == nil && got != nil && got.Verdict == Error {
		err = &StayedInError{Runs: rigErrors([]RunRecord{*got})[len(got.Attempts):]}
	}
	return got, err
}

// Execute runs every planned run of c on its target and on the reference,
// scores and stores each, and summarises. It stops early only on ctx.
func Execute(ctx context.Context, c *Campaign, opt Options) (*Summary, error) {
	if c.Sweep != nil && c.Sweep.Search == SearchBreakingPoint {
		sum := newSummary(c)
		err := searchBreakingPoint(ctx, c, opt, sum)
		finish(c, sum, opt, err)
		return sum, err
	}
	idx := make([]int, c.Runs())
	for i := range idx {
		idx[i] = i
	}
	return ExecuteRuns(ctx, c, idx, opt)
}

func newSummary(c *Campaign) *Summary {
	return &Summary{Campaign: c.Name, CampaignHash: c.Hash, Target: c.Target, Reference: c.Reference, Seed: c.Seed, Planned: c.Runs()}
}

// finish summarises and adds what the campaign learned beyond verdicts.
func finish(c *Campaign, sum *Summary, opt Options, err error) {
	Summarize(sum)
	sum.RigErrors = rigErrors(sum.Runs)
	for i := range sum.Runs {
		if _, ok := opt.Done[sum.Runs[i].Key()]; ok {
			sum.Resumed++
		}
	}
	sum.Interrupted = errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled)
	if sum.Interrupted {
		sum.Verdict = record.Interrupted
	}
	sum.Requirements = Requirements(c, sum.Runs)
	sum.CampaignVersion, sum.Harness = c.Version, Version
	for i := range sum.Runs {
		if fw := sum.Runs[i].Firmware; fw.Name != "" {
			sum.Firmware = &fw
			break
		}
	}
	if s := c.Sweep; s != nil {
		if s.Search == SearchBreakingPoint {
			// Finding the breaking point is the point of the campaign,
			// not a failure; falling short of min_margin is.
			if sum.Verdict == Fail {
				sum.Verdict = Pass
			}
			searchVerdict(s, sum)
			if s.MinMargin != nil && sum.Sweep != nil && sum.Sweep.Breaking != "" && sum.Sweep.MarginNum < s.MinMargin.Num && sum.Verdict == Pass {
				sum.Verdict = Fail
				sum.Sweep.Note = fmt.Sprintf("margin %s is below the required %s", sum.Sweep.Margin, s.MinMargin.Text)
			}
		} else {
			sum.Sweep = sweepPoints(c, sum.Runs)
		}
	}
}

// ExecuteRuns is Execute for the listed run indices only.
func ExecuteRuns(ctx context.Context, c *Campaign, indices []int, opt Options) (*Summary, error) {
	var all []RunPlan
	if c.Sweep != nil {
		all = Plan(c)
	}
	plans := make([]RunPlan, len(indices))
	for i, k := range indices {
		if all != nil {
			plans[i] = all[k]
		} else {
			plans[i] = PlanRun(c, k)
		}
	}
	sum := newSummary(c)
	sum.Planned = len(plans)
	if opt.IDs == nil {
		opt.IDs = newIDs()
	}
	err := opt.runPlans(ctx, c, plans, func(rec *RunRecord) {
		sum.Runs = append(sum.Runs, *rec)
		if opt.Progress != nil {
			opt.Progress(len(sum.Runs), len(plans), rec)
		}
	})
	if opt.Rigs != nil {
		sum.Rigs = opt.Rigs.Health()
	}
	finish(c, sum, opt, err)
	if err == nil {
		if stayed := stayedInError(sum); stayed != nil {
			err = stayed
		}
	}
	return sum, err
}

// ExecuteRun drives one run on the campaign's target and on the reference
// and returns its scored record. An infrastructure failure gives a record
// with verdict "error" and the error.
func ExecuteRun(ctx context.Context, c *Campaign, p RunPlan, opt Options) (*RunRecord, error) {
	rec, stored, err := executeOn(ctx, c, p, opt, farm.Rig{Target: c.Target})
	return rec, traceOnDisk(rec, stored, err, c.Target)
}

// traceOnDisk waits for the trace of a run that executeOn gave back
// without an error: one that could not be stored makes the run a rig
// error, as a run with no record of its wire stream.
func traceOnDisk(rec *RunRecord, stored func() error, err error, target string) error {
	if err != nil || stored == nil {
		return err
	}
	if werr := stored(); werr != nil {
		err = &InfraError{Target: target, Err: werr}
		rec.Verdict, rec.Error = Error, err.Error()
		return err
	}
	return nil
}

// newRecord is run p's record before it runs.
func newRecord(c *Campaign, p RunPlan, opt Options) *RunRecord {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	host, _ := os.Hostname()
	return &RunRecord{
		Campaign: c.Name, CampaignHash: c.Hash, Index: p.Index, Seed: p.Seed, CampaignSeed: c.Seed,
		Target: c.Target, Reference: c.Reference, DurationUS: p.Duration.Microseconds(),
		Sweep: p.Sweep, CampaignVersion: c.Version, Host: &HostInfo{Harness: Version, Start: now().UTC().Format(time.RFC3339Nano), Name: host},
	}
}

// executeOn is ExecuteRun on rig: its target instead of the campaign's,
// and, for a named rig, the rig and its identity in the record.
//
// A run that ends without an error may still be writing its trace:
// stored, if not nil, syncs and closes the trace and says why it is not
// on disk, and its record may be stored only after that; it must be
// called, as the trace's file is open until then. A run that ends in an
// error has its trace closed before executeOn returns, as another try
// writes the same file.
func executeOn(ctx context.Context, c *Campaign, p RunPlan, opt Options, rig farm.Rig) (rec *RunRecord, stored func() error, err error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	rec = newRecord(c, p, opt)
	trace := ""
	if dir := opt.TraceDir; opt.Store != nil || dir != "" {
		if opt.Store != nil {
			dir = opt.Store.Dir()
		}
		trace = TracePath(c, p)
		rec.Trace = trace
		trace = filepath.Join(dir, trace)
	}
	ids := opt.IDs
	if ids == nil {
		ids = newIDs()
	}
	// The reference is a simulated board of its own: run it on the other
	// core while the target runs. Both are deterministic, so this changes
	// nothing but the wall time.
	var (
		refObs *Observation
		refErr error
		refWG  sync.WaitGroup
	)
	refCtx, cancelRef := context.WithCancel(ctx)
	defer cancelRef()
	if c.Scored() {
		refWG.Go(func() {
			// A panic here would end the process with Go's status 2, which
			// means invalid input: make it this run's rig error instead.
			defer func() {
				if r := recover(); r != nil {
					refErr = fmt.Errorf("internal error in the reference run: %v", r)
				}
			}()
			refObs, refErr = observe(refCtx, c.Reference, c, p, "", nil, false, nil, nil)
		})
	}
	var ident targets.Identity
	obs, err := observe(ctx, rig.Target, c, p, trace, ids, true, &ident, &rig)
	if obs != nil {
		stored = obs.traceStored
	}
	defer func() {
		if err != nil && stored != nil {
			// The run's error is what it ended in, whatever the trace's.
			_ = stored()
			stored = nil
		}
	}()
	rec.Host.End = now().UTC().Format(time.RFC3339Nano)
	fill(rec, obs, c)
	if rig.Name != "" {
		rec.Rig = &RigInfo{Name: rig.Name, Target: rig.Target, VID: ident.VID, PID: ident.PID, Serial: ident.Serial, Product: ident.Product, Build: rec.Firmware.Build}
	}
	// A board that did not come back after a reset failed; the run up to
	// the reset is judged like any other.
	var brick *BrickError
	if errors.As(err, &brick) {
		err = nil
		rec.Resets.Brick = 1
		if len(rec.ResetLog) < MaxResetLog {
			rec.ResetLog = append(rec.ResetLog, ResetEvent{AtUS: brick.AtUS, Kind: record.ResetBrick, Reason: brick.Error(), RecoveryUS: -1})
		}
	}
	if err == nil && opt.FirmwareBuild != "" && rec.Firmware.Build != opt.FirmwareBuild {
		err = &InfraError{Target: rig.Target, Err: fmt.Errorf("the board reports build id %q, the firmware image %s has build id %q: the flash did not take, or the rig runs another image",
			rec.Firmware.Build, opt.Firmware, opt.FirmwareBuild)}
	}
	if err == nil && !c.Firmware.Matches(rec.Firmware) {
		err = &InfraError{Target: rig.Target, Err: fmt.Errorf("the board runs firmware %s %s (build %s), the campaign is written for %s",
			rec.Firmware.Name, rec.Firmware.Version, rec.Firmware.Build, c.Firmware)}
	}
	if err != nil {
		cancelRef()
		refWG.Wait()
		rec.Verdict, rec.Error = Error, err.Error()
		if ctx.Err() != nil {
			// Cut short by a signal: keep what it saw (its resets
			// happened), claim no verdict.
			rec.Verdict = record.Interrupted
			rec.Error = fmt.Sprintf("interrupted at board time %s of %s", time.Duration(endUS(obs))*time.Microsecond, p.Duration)
			return rec, stored, ctx.Err()
		}
		return rec, stored, err
	}
	refWG.Wait()
	if err := refErr; err != nil {
		if ctx.Err() != nil {
			return nil, stored, ctx.Err()
		}
		rec.Verdict, rec.Error = Error, "reference: "+err.Error()
		return rec, stored, err
	}
	var ref *RunRecord
	if c.Scored() {
		ref = &RunRecord{}
		fill(ref, refObs, c)
	}
	o := observed(obs)
	o.Brick = brick != nil
	score.Judge(rec, ref, c.criteria(), o)
	// Every figure is in the records now.
	for _, ob := range []*Observation{obs, refObs} {
		if ob != nil && ob.Observation != nil && ob.Analyzer != nil {
			ob.Analyzer.Release()
		}
	}
	return rec, stored, nil
}

// observe opens url afresh and drives plan on it; with a trace path, the
// wire stream as received is stored there (tracelog).
// rig, for the board under test, is the rig whose power argv (if any)
// carries out the campaign's power cycles.
func observe(ctx context.Context, url string, c *Campaign, p RunPlan, trace string, ids *drive.IDs, underTest bool, ident *targets.Identity, rig *farm.Rig) (obs *Observation, err error) {
	t, err := targets.Open(url, targets.Options{Seed: p.Seed, Trace: c.Trace, Reconnect: c.Timeouts.Reconnect})
	if err != nil {
		var ue *targets.URLError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &InfraError{Target: url, Err: err}
	}
	defer t.Close()
	if id, ok := t.(targets.Identifier); ok && ident != nil {
		*ident = id.Identity()
	}
	if _, owns := t.(targets.Clock); !owns {
		// A real link may block in Read, or while it reconnects: closing
		// it is how a cancelled run (Ctrl-C, SIGTERM) gets out at once.
		defer context.AfterFunc(ctx, func() { t.Close() })()
	}
	var raw io.Writer
	if trace != "" {
		create := tracelog.CreateLive
		if _, owns := t.(targets.Clock); owns {
			// The simulator waits for its trace, in virtual time.
			create = tracelog.Create
		}
		tw, err := create(trace, url, targets.ClockOf(t).Now)
		if err != nil {
			return nil, &InfraError{Target: url, Err: fmt.Errorf("trace log: %w", err)}
		}
		defer func() {
			wait := tw.CloseAsync()
			if err == nil && obs != nil {
				// The trace reaches the disk while the caller goes on.
				obs.traceStored = wait
				return
			}
			if cerr := wait(); cerr != nil && err == nil {
				err = &InfraError{Target: url, Err: cerr}
			}
		}()
		raw = tw
	}
	return driveRunPower(ctx, t, c, p, raw, ids, underTest, powerFor(t, rig))
}

func fill(rec *RunRecord, obs *Observation, c *Campaign) {
	if obs == nil || obs.Observation == nil {
		return
	}
	rec.Firmware = Firmware(obs.Firmware)
	rec.ResetLog = resetsOf(obs.Resets)
	if rec.ResetLog == nil {
		rec.ResetLog = []ResetEvent{}
	}
	rec.InversionLog = obs.Analyzer.Episodes
	if rec.InversionLog == nil {
		rec.InversionLog = []analyze.Episode{}
	}
	rec.Inversions = obs.Analyzer.Inversions
	rec.Bounds, rec.Findings = obs.Analyzer.Oracle()
	if rec.Findings == nil {
		rec.Findings = []analyze.Finding{}
	}
	recov := obs.Analyzer.Recoveries()
	for i := range rec.ResetLog {
		e := &rec.ResetLog[i]
		e.RecoveryUS = -1
		if i < len(recov) {
			e.RecoveryUS = recov[i]
		}
		if i < len(obs.BlackBoxes) && obs.BlackBoxes[i] != nil && i < maxBlackBoxes {
			e.BlackBox = boxEvents(&obs.Table, obs.BlackBoxes[i])
		}
		if c != nil && c.expectsReset(e.Kind) {
			e.Kind = ResetExpected
		}
	}
	rec.Resets = countResets(obs.ResetKinds, c)
	rec.Tasks = obs.Analyzer.Tasks()
	rec.Telemetry = telemetryOf(obs.Telemetry)
	// One number for every event that did not arrive: the record's
	// telemetry.lost and the check of that name.
	rec.Telemetry.SeqLost = obs.Telemetry.Lost
	rec.Telemetry.Lost = obs.Telemetry.Lost + obs.Telemetry.Dropped
	if c != nil {
		rec.TraceLevel = traceLevelName(c.Trace)
	}
	fillDriven(rec, obs.Observation)
	rec.FaultsSkipped = obs.FaultsSkipped
	rec.Faults, rec.FaultsPlanned = storedFaults(obs.Faults), obs.FaultsPlanned
	rec.Link = obs.Link
	rec.Crashes = obs.Crashes
	rec.PowerCycles = obs.PowerCycles
	if rec.Faults == nil {
		rec.Faults = []record.Fault{}
	}
}

// observed is what the verdict needs from a run beyond its record.
func observed(obs *Observation) score.Observed {
	if obs == nil || obs.Observation == nil || obs.Analyzer == nil {
		return score.Observed{}
	}
	// The driver's end credits board time the analyzer saw no event of
	// (a hung board's clock ran on until its reset).
	return score.Observed{Faults: obs.Analyzer.Faults(), ReachedUS: max(obs.Analyzer.ReachedUS(), obs.EndUS)}
}

// criteria are what the campaign judges a run by.
func (c *Campaign) criteria() score.Criteria {
	return score.Criteria{Checks: c.Checks, MinScore: c.MinScore, MinJobs: c.MinJobs, MaxLoss: c.MaxLoss}
}

// boxEvents resolves a black box's task and lock names.
func boxEvents(tbl *wire.Table, evs []wire.Event) []BoxEvent {
	out := make([]BoxEvent, len(evs))
	for i, ev := range evs {
		b := BoxEvent{AtUS: int64(ev.Time), Kind: ev.Kind.String(), Arg: ev.Arg}
		if ev.Task != wire.NoTask {
			b.Task = tbl.TaskName(ev.Task)
		}
		switch ev.Kind {
		case wire.EvBlock, wire.EvLock, wire.EvUnlock:
			if ev.Arg >= 0 && int(ev.Arg) < len(tbl.Locks) {
				b.Lock = tbl.Locks[ev.Arg].Name
			}
		}
		out[i] = b
	}
	return out
}

// traceLevelName is the campaign name of a trace level.
func traceLevelName(level int) string {
	for name, l := range traceLevels {
		if l == level {
			return name
		}
	}
	return strconv.Itoa(level)
}
