package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hilchaos/hilchaos/harness/farm"
)

// FarmRun says how a campaign goes to a NATS farm (run --farm).
type FarmRun struct {
	Farm         *farm.Farm
	CampaignFile []byte // the campaign file's bytes, sent with every run
	CampaignPath string
	Duration     string // the --duration override, if any
	Repeat       int
	Seed         *uint64
	Labels       string // rig selector
	Priority     string // one of farm.Priorities
}

// FarmCampaignID names a campaign's runs and results on the farm: the same
// campaign content, plan and rig selector give the same id, so a restarted
// controller finds its results again.
func FarmCampaignID(c *Campaign, labels string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\x00%s", c.Hash, c.Target, c.Duration, c.Repeat, c.Seed, labels)
	return hex.EncodeToString(h.Sum(nil))[:20]
}

func keyString(k RunKey) string {
	return fmt.Sprintf("%s/%d/%d/%d/%s", k.CampaignHash[:min(16, len(k.CampaignHash))], k.Index, k.Seed, k.DurationUS, k.SweepValue)
}

// ExecuteFarm queues every planned run of c not in opt.Done on the farm,
// and collects the results as agents publish them: each run's record is
// stored exactly once, in index order, with its trace fetched from the
// object store. A run that ends in a rig error is queued again under the
// campaign's on_rig_error (another agent or rig may take it). Closing
// opt.Stop returns what is in with ErrInterrupted; the runs already queued
// go on, and --resume collects them from the results stream.
func ExecuteFarm(ctx context.Context, c *Campaign, opt Options, fr FarmRun) (*Summary, error) {
	policy := c.OnRigError
	if policy.Mode == "" {
		policy = DefaultRigErrorPolicy
	}
	id := FarmCampaignID(c, fr.Labels)
	plans := Plan(c)
	pos := map[string]int{}
	results := make([]*RunRecord, len(plans))
	attempts := make([][]Attempt, len(plans))
	job := func(i, attempt int) *farm.Job {
		p := plans[i]
		j := &farm.Job{Campaign: id, Key: keyString(KeyOf(c, p)), Attempt: attempt, Index: p.Index,
			CampaignFile: fr.CampaignFile, CampaignName: fr.CampaignPath, Duration: fr.Duration, Repeat: fr.Repeat, Seed: fr.Seed,
			Target: c.Target, Labels: fr.Labels, Priority: fr.Priority, Trace: opt.Store != nil}
		if p.Sweep != nil {
			j.SweepValue = p.Sweep.Value
		}
		return j
	}
	for i, p := range plans {
		k := KeyOf(c, p)
		pos[keyString(k)] = i
		if r, ok := opt.Done[k]; ok {
			results[i] = &r
			continue
		}
		if err := fr.Farm.Submit(ctx, job(i, 0)); err != nil {
			return nil, &InfraError{Target: c.Target, Err: err}
		}
	}
	sum := newSummary(c)
	next := 0
	var fatal error
	commit := func() error {
		for next < len(results) && results[next] != nil {
			rec := results[next]
			if _, resumed := opt.Done[rec.Key()]; !resumed && opt.Store != nil {
				if err := opt.Store.Append(rec); err != nil {
					return err
				}
			}
			sum.Runs = append(sum.Runs, *rec)
			if opt.Progress != nil {
				opt.Progress(len(sum.Runs), len(results), rec)
			}
			next++
		}
		return nil
	}
	if err := commit(); err != nil {
		return sum, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opt.Stop != nil {
		go func() {
			select {
			case <-opt.Stop:
				cancel()
			case <-wctx.Done():
			}
		}()
	}
	err := fr.Farm.Results(wctx, id, func(r *farm.Result) (bool, error) {
		if next >= len(results) {
			return true, nil
		}
		i, ok := pos[r.Key]
		if !ok || results[i] != nil {
			return false, nil // not of this plan, or already in: once per run
		}
		var rec RunRecord
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			return false, nil
		}
		if r.RigError {
			rig := ""
			if rec.Rig != nil {
				rig = rec.Rig.Name
			}
			if len(attempts[i]) <= r.Attempt {
				attempts[i] = append(attempts[i], Attempt{Rig: rig, Error: rec.Error})
			}
			if policy.Mode == OnRigRetry && r.Attempt < policy.Retries {
				return false, fr.Farm.Submit(wctx, job(i, r.Attempt+1))
			}
			attempts[i] = attempts[i][:len(attempts[i])-1]
			if policy.Mode == OnRigAbort {
				fatal = &InfraError{Target: c.Target, Err: errors.New(rec.Error)}
			}
		}
		rec.Attempts = attempts[i]
		if rec.Trace != "" && r.Trace != "" && opt.Store != nil {
			if err := fr.Farm.FetchTrace(wctx, r.Trace, filepath.Join(opt.Store.Dir(), rec.Trace)); err != nil {
				return false, &InfraError{Target: c.Target, Err: fmt.Errorf("trace of run %d: %w", rec.Index, err)}
			}
		} else if r.Trace == "" {
			rec.Trace = ""
		}
		results[i] = &rec
		if err := commit(); err != nil {
			return true, err
		}
		return next >= len(results) || fatal != nil, nil
	})
	switch {
	case err == nil && fatal != nil:
		err = fatal
	case err != nil && opt.stopped():
		err = ErrInterrupted
	}
	finish(c, sum, opt, err)
	if err == nil {
		var stayed []RigErrorEntry
		for _, e := range sum.RigErrors {
			if !e.Recovered {
				stayed = append(stayed, e)
			}
		}
		if len(stayed) > 0 {
			err = &StayedInError{Runs: stayed}
		}
	}
	return sum, err
}

// RunOnRig is one try of plan p on rig i of an agent's pool, as the run
// loop does it (flash before the rig's first run, rig health, power cycle
// before quarantine). rigError tells a rig error (worth another rig) from a
// record of the firmware; err is set only when there is no record
// (cancelled).
func RunOnRig(ctx context.Context, c *Campaign, p RunPlan, opt Options, pool *farm.Pool, i int, rig farm.Rig) (rec *RunRecord, rigError bool, err error) {
	if opt.IDs == nil {
		opt.IDs = newIDs()
	}
	if err := checkPower(c, []farm.Rig{rig}); err != nil {
		// This agent's rig cannot do the campaign's power cycles (its
		// inventory gives it no power argv): a rig of another agent may.
		// The rig itself did nothing wrong: its health is untouched.
		rec := errorRecord(c, p, opt, err.Error())
		rec.Rig = &RigInfo{Name: rig.Name, Target: rig.Target}
		return rec, true, nil
	}
	o := opt.tryOn(ctx, c, &job{plan: p, avoid: map[int]bool{}}, i, rig, pool)
	if o.rec == nil || ctx.Err() != nil {
		if o.stored != nil {
			_ = o.stored() // closes the trace's file
		}
		if o.err == nil {
			o.err = ctx.Err()
		}
		return nil, false, o.err
	}
	o.err = traceOnDisk(o.rec, o.stored, o.err, rig.Target)
	return o.rec, o.err != nil && isRigError(o.err), nil
}

// PlanOf is the plan of run index (of sweep value v, for a sweep).
func PlanOf(c *Campaign, index int, v string) (RunPlan, error) {
	if c.Sweep == nil {
		if index < 0 || index >= c.Runs() {
			return RunPlan{}, fmt.Errorf("run %d: the campaign plans runs 0..%d", index, c.Runs()-1)
		}
		return PlanRun(c, index), nil
	}
	for _, p := range Plan(c) {
		if p.Index == index && p.Sweep != nil && p.Sweep.Value == v {
			return p, nil
		}
	}
	return RunPlan{}, fmt.Errorf("run %d of sweep value %q: not in the plan", index, v)
}
