package harness

import (
	"context"
	"errors"
	"math"
	"os"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	_ "github.com/hilchaos/hilchaos/targets/sim" // the sim:// scheme
)

// Version is the harness version written into every record.
var Version = "0.1.0-dev"

// Options steer a campaign's execution.
type Options struct {
	// Store, if not nil, receives every record before the next run starts.
	Store *Store
	// Progress, if not nil, is told about each finished run.
	Progress func(done, total int, r *RunRecord)
	// Now is the wall clock for host facts; nil means time.Now.
	Now func() time.Time
}

// Execute runs every planned run of c on its target and on the reference,
// scores and stores each, and summarises. It stops early only on ctx.
func Execute(ctx context.Context, c *Campaign, opt Options) (*Summary, error) {
	idx := make([]int, c.Repeat)
	for i := range idx {
		idx[i] = i
	}
	return ExecuteRuns(ctx, c, idx, opt)
}

// ExecuteRuns is Execute for the listed run indices only.
func ExecuteRuns(ctx context.Context, c *Campaign, indices []int, opt Options) (*Summary, error) {
	plans := make([]RunPlan, len(indices))
	for i, k := range indices {
		plans[i] = PlanRun(c, k)
	}
	sum := &Summary{Campaign: c.Name, CampaignHash: c.Hash, Target: c.Target, Reference: c.Reference, Seed: c.Seed}
	for i, p := range plans {
		rec, err := ExecuteRun(ctx, c, p, opt)
		if rec != nil {
			sum.Runs = append(sum.Runs, *rec)
			if opt.Store != nil {
				if serr := opt.Store.Append(rec); serr != nil {
					return sum, serr
				}
			}
			if opt.Progress != nil {
				opt.Progress(i+1, len(plans), rec)
			}
		}
		if err != nil {
			Summarize(sum)
			return sum, err
		}
	}
	Summarize(sum)
	return sum, nil
}

// Summarize recomputes the campaign verdict, score and counts from sum.Runs.
func Summarize(sum *Summary) {
	sum.Verdict = Pass
	total := 0.0
	sum.Passed, sum.Failed, sum.Errors = 0, 0, 0
	for _, r := range sum.Runs {
		total += r.Score
		switch r.Verdict {
		case Pass:
			sum.Passed++
		case Fail:
			sum.Failed++
			if sum.Verdict == Pass {
				sum.Verdict = Fail
			}
		default:
			sum.Errors++
			sum.Verdict = Error
		}
	}
	if n := len(sum.Runs); n > 0 {
		sum.Score = math.Round(total/float64(n)*10) / 10
	}
}

// ExecuteRun drives one run on the campaign's target and on the reference
// and returns its scored record. An infrastructure failure gives a record
// with verdict "error" and the error.
func ExecuteRun(ctx context.Context, c *Campaign, p RunPlan, opt Options) (*RunRecord, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	host, _ := os.Hostname()
	rec := &RunRecord{
		Campaign: c.Name, CampaignHash: c.Hash, Index: p.Index, Seed: p.Seed,
		Target: c.Target, Reference: c.Reference, DurationUS: p.Duration.Microseconds(),
		Faults: p.Faults, Host: &HostInfo{Harness: Version, Start: now().UTC().Format(time.RFC3339Nano), Name: host},
	}
	obs, err := observe(ctx, c.Target, c, p)
	rec.Host.End = now().UTC().Format(time.RFC3339Nano)
	fill(rec, obs)
	if err != nil {
		rec.Verdict, rec.Error = Error, err.Error()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return rec, err
	}
	refObs, err := observe(ctx, c.Reference, c, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rec.Verdict, rec.Error = Error, "reference: "+err.Error()
		return rec, err
	}
	var ref RunRecord
	fill(&ref, refObs)
	rec.Score, rec.Deductions = Score(rec, &ref)
	rec.Checks = Evaluate(c.Checks, rec)
	rec.Verdict = Pass
	for _, ch := range rec.Checks {
		if !ch.Pass {
			rec.Verdict = Fail
		}
	}
	if rec.Score < c.MinScore {
		rec.Verdict = Fail
	}
	return rec, nil
}

// observe opens url afresh and drives plan on it.
func observe(ctx context.Context, url string, c *Campaign, p RunPlan) (*Observation, error) {
	t, err := targets.Open(url, targets.Options{Seed: p.Seed, Trace: c.Trace, Reconnect: c.Timeouts.Reconnect})
	if err != nil {
		var ue *targets.URLError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &InfraError{Target: url, Err: err}
	}
	defer t.Close()
	if _, owns := t.(targets.Clock); !owns {
		// A real link may block in Read, or while it reconnects: closing
		// it is how a cancelled run (Ctrl-C, SIGTERM) gets out at once.
		defer context.AfterFunc(ctx, func() { t.Close() })()
	}
	return drive(ctx, t, c, p, nil)
}

func fill(rec *RunRecord, obs *Observation) {
	if obs == nil {
		return
	}
	rec.Firmware = obs.Firmware
	rec.ResetLog = obs.Resets
	if rec.ResetLog == nil {
		rec.ResetLog = []ResetEvent{}
	}
	rec.Resets = countResets(obs.Resets)
	rec.Tasks = obs.Analyzer.Tasks()
	rec.Telemetry = obs.Telemetry
	rec.FaultsSkipped = obs.FaultsSkipped
	rec.Link = obs.Link
	if rec.Faults == nil {
		rec.Faults = []PlannedFault{}
	}
}
