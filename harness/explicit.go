package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/harness/drive"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/shrink"
)

// This file lets harness/shrink run candidate schedules: a run with an
// explicit list of fault firings (each with its own parameters) instead of
// the campaign's schedules, and the evidence of a record the failure
// signature is computed from.

// FiringsOf returns the fault firings of rec with the parameters of c's
// fault of the same name (and the record's sweep value, if it swept), in
// the form a shrink works on.
func FiringsOf(c *Campaign, rec *record.RunRecord) ([]shrink.Firing, error) {
	specs := map[string]*FaultSpec{}
	for i := range c.Faults {
		specs[c.Faults[i].Name] = &c.Faults[i]
	}
	out := make([]shrink.Firing, 0, len(rec.Faults))
	for _, pf := range rec.Faults {
		sp, ok := specs[pf.Name]
		if !ok {
			return nil, fmt.Errorf("run %d fired fault %q, which campaign %s does not declare", rec.Index, pf.Name, c.Path)
		}
		if sp.Kind != pf.Kind {
			return nil, fmt.Errorf("run %d fired %q as %s, campaign %s declares it as %s", rec.Index, pf.Name, pf.Kind, c.Path, sp.Kind)
		}
		params := make(map[string]any, len(sp.Params))
		for k, v := range sp.Params {
			params[k] = v
		}
		if sw := rec.Sweep; sw != nil && sw.Fault == pf.Name {
			v, err := sweepParam(pf.Kind, sw.Param, sw.Value)
			if err != nil {
				return nil, err
			}
			params[sw.Param] = v
		}
		out = append(out, shrink.Firing{Name: pf.Name, Kind: pf.Kind, AtUS: pf.At, Params: params})
	}
	return out, nil
}

// sweepParam turns a stored sweep value (35ms, 7) into a parameter value.
func sweepParam(kind, param, text string) (any, error) {
	types, _ := faults.Params(kind)
	t, ok := types[param]
	if !ok {
		return nil, fmt.Errorf("sweep parameter %q is not a parameter of %s", param, kind)
	}
	if t == reflect.TypeOf(time.Duration(0)) {
		return text, nil
	}
	var n int
	if _, err := fmt.Sscan(text, &n); err != nil {
		return nil, fmt.Errorf("sweep value %q of %s: %v", text, param, err)
	}
	return n, nil
}

// ExplicitCampaign is c with its faults replaced by the candidate's
// firings (each fault entry fires at explicit times) and its duration by
// the candidate's. Sweeps are dropped: the firings carry their values.
func ExplicitCampaign(c *Campaign, cand shrink.Candidate) (*Campaign, error) {
	e := *c
	e.Sweep = nil
	e.Duration = time.Duration(cand.DurationUS) * time.Microsecond
	e.Faults = make([]FaultSpec, 0, len(cand.Firings))
	for i, f := range cand.Firings {
		flt, errs := faults.Decode(f.Kind, f.Params)
		if len(errs) > 0 {
			return nil, fmt.Errorf("firing %d (%s at %s): %w", i, f.Name, shrink.FormatUS(f.AtUS), errors.Join(faults.Prefix(f.Name, errs)...))
		}
		e.Faults = append(e.Faults, FaultSpec{
			Name: f.Name, Kind: f.Kind, Params: f.Params, Fault: flt,
			Schedule: faults.Schedule{At: []time.Duration{time.Duration(f.AtUS) * time.Microsecond}},
		})
	}
	return &e, nil
}

// ShrinkEvidence is what rec says about how it failed.
func ShrinkEvidence(rec *record.RunRecord) shrink.Evidence {
	ev := shrink.Evidence{Verdict: rec.Verdict}
	for _, r := range rec.ResetLog {
		if r.Kind == record.ResetExpected {
			continue
		}
		re := shrink.ResetEvidence{AtUS: r.AtUS, Kind: r.Kind}
		re.Missed, re.Blocked, re.Lock = readBlackBox(r.BlackBox)
		ev.Resets = append(ev.Resets, re)
	}
	for _, e := range rec.InversionLog {
		ev.Episodes = append(ev.Episodes, shrink.EpisodeEvidence{StartUS: e.StartUS, LengthUS: e.LengthUS, High: e.High, Lock: e.Lock})
	}
	for _, ch := range rec.Checks {
		if !ch.Pass {
			ev.FailedChecks = append(ev.FailedChecks, ch.Expr)
		}
	}
	return ev
}

// readBlackBox finds, in the events before a reset, the last task to miss
// its deadline and the last block on a lock that was never granted.
func readBlackBox(box []record.BoxEvent) (missed, blocked, lock string) {
	for i, e := range box {
		switch e.Kind {
		case "DM":
			missed = e.Task
		case "BL":
			granted := false
			for _, later := range box[i+1:] {
				if later.Task == e.Task && later.Kind == "LK" && later.Lock == e.Lock {
					granted = true
					break
				}
			}
			if !granted {
				blocked, lock = e.Task, e.Lock
			}
		}
	}
	return missed, blocked, lock
}

// RunOracle runs shrink candidates as runs of a campaign on its target.
type RunOracle struct {
	Campaign *Campaign
	// Index and Seed are the run's: trial 0 of every candidate uses this
	// seed, so a deterministic target repeats the original run exactly
	// where the schedule is the same.
	Index int
	Seed  uint64
	// VarySeed gives repetition r > 0 its own seed, derived from Seed:
	// on the simulator this draws new execution times, the randomness a
	// real board has (a real board ignores the seed).
	VarySeed bool
	// Runs, if not nil, is told every record (for tests and reports).
	Runs func(shrink.Candidate, *record.RunRecord)
}

// Trial implements shrink.Oracle.
func (o *RunOracle) Trial(ctx context.Context, cand shrink.Candidate, rep int) (shrink.Outcome, error) {
	c, err := ExplicitCampaign(o.Campaign, cand)
	if err != nil {
		return shrink.Outcome{}, err
	}
	p := PlanRun(c, 0)
	p.Index, p.Seed = o.Index, o.Seed
	if o.VarySeed && rep > 0 {
		p.Seed = RunSeed(o.Seed, rep)
	}
	var opt Options
	if simTarget(c.Target) {
		// A simulated board is new for every trial and remembers no ids;
		// the same ids every time keep the bytes on its simulated UART,
		// and so the run, the same for the same schedule and seed.
		opt.IDs = drive.NewIDs(0)
	}
	rec, err := ExecuteRun(ctx, c, p, opt)
	if err != nil {
		return shrink.Outcome{}, err
	}
	if o.Runs != nil {
		o.Runs(cand, rec)
	}
	return OutcomeOf(rec), nil
}

// OutcomeOf turns a run record into a shrink trial's outcome.
func OutcomeOf(rec *record.RunRecord) shrink.Outcome {
	out := shrink.Outcome{Failed: rec.Verdict == record.Fail, BoardUS: rec.DurationUS, FailAtUS: -1}
	if out.Failed {
		out.Signature, out.FailAtUS = shrink.Signature(ShrinkEvidence(rec))
	}
	return out
}

func simTarget(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Scheme == "sim"
}

// Deterministic reports whether a target gives the same run for the same
// schedule and seed: the simulator, and QEMU with -icount.
func Deterministic(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "sim":
		return true
	case "qemu":
		return u.Query().Has("icount")
	}
	return false
}

// TraceName is the campaign trace level as a campaign file writes it.
func TraceName(level int) string {
	switch level {
	case 0:
		return "summary"
	case 1:
		return "default"
	case 2:
		return "full"
	}
	return ""
}

// CampaignText is what a shrunk campaign file keeps of c.
func CampaignText(c *Campaign) shrink.CampaignText {
	ct := shrink.CampaignText{
		Name: c.Name, Description: c.Description, Target: c.Target, Reference: c.Reference,
		Seed: c.Seed, Repeat: c.Repeat, Trace: TraceName(c.Trace), MinScore: c.MinScore,
		ExpectResets: c.ExpectResets, Requirements: c.Requirements,
		Timeouts: map[string]time.Duration{"boot": c.Timeouts.Boot, "liveness": c.Timeouts.Liveness, "reconnect": c.Timeouts.Reconnect},
	}
	fw := map[string]string{}
	for k, v := range map[string]string{"name": c.Firmware.Name, "version": c.Firmware.Version, "build": c.Firmware.Build} {
		if v != "" {
			fw[k] = v
		}
	}
	if len(fw) > 0 {
		ct.Firmware = fw
	}
	for _, ch := range c.Checks {
		ct.Checks = append(ct.Checks, shrink.CheckText{Expr: strings.TrimSpace(ch.Expr), Requirement: ch.Requirement})
	}
	return ct
}
