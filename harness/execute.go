package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/targets"
)

// The rig parts of the record schema.
type (
	RigInfo       = record.RigInfo
	Attempt       = record.Attempt
	RigErrorEntry = record.RigErrorEntry
)

// RigErrorPolicy is the campaign's on_rig_error: what a run that ends in a
// rig error (an InfraError: port gone, no banner, link dead) leads to.
type RigErrorPolicy struct {
	Mode    string // OnRigRetry, OnRigSkip or OnRigAbort
	Retries int    // for OnRigRetry: tries after the first
}

// on_rig_error modes.
const (
	OnRigRetry = "retry"
	OnRigSkip  = "skip"
	OnRigAbort = "abort"
)

// DefaultRigErrorPolicy is "retry 2".
var DefaultRigErrorPolicy = RigErrorPolicy{Mode: OnRigRetry, Retries: 2}

// ParseRigErrorPolicy reads "retry N", "retry" (2), "skip" or "abort".
func ParseRigErrorPolicy(s string) (RigErrorPolicy, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return DefaultRigErrorPolicy, nil
	}
	switch {
	case f[0] == OnRigRetry && len(f) == 1:
		return DefaultRigErrorPolicy, nil
	case f[0] == OnRigRetry && len(f) == 2:
		var n int
		if _, err := fmt.Sscanf(f[1], "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != f[1] {
			return RigErrorPolicy{}, fmt.Errorf("%q: retry takes a count of 0 or more, as in \"retry 2\"", s)
		}
		return RigErrorPolicy{Mode: OnRigRetry, Retries: n}, nil
	case (f[0] == OnRigSkip || f[0] == OnRigAbort) && len(f) == 1:
		return RigErrorPolicy{Mode: f[0]}, nil
	}
	return RigErrorPolicy{}, fmt.Errorf("%q: want \"retry N\", \"skip\" or \"abort\"", s)
}

func (p RigErrorPolicy) String() string {
	if p.Mode == OnRigRetry {
		return fmt.Sprintf("retry %d", p.Retries)
	}
	return p.Mode
}

// StayedInError is returned by Execute when runs still ended in a rig
// error after every retry: the campaign's evidence is incomplete, whatever
// the other runs say.
type StayedInError struct {
	Runs []RigErrorEntry
}

func (e *StayedInError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d run(s) ended in a rig error after every try:", len(e.Runs))
	for i, r := range e.Runs {
		if i == 3 {
			fmt.Fprintf(&b, " (and %d more)", len(e.Runs)-3)
			break
		}
		rig := ""
		if r.Rig != "" {
			rig = " on " + r.Rig
		}
		fmt.Fprintf(&b, " run %d%s: %s;", r.Index, rig, r.Error)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// isRigError tells a failure of the rig (worth another try, perhaps on
// another rig) from one of the campaign or the harness.
func isRigError(err error) bool {
	var ie *InfraError
	var ue *targets.URLError
	return errors.As(err, &ie) && !errors.As(err, &ue)
}

// pool is where the campaign's runs go: the rigs of Options.Rigs, or
// Parallel instances of the campaign's own target.
func (opt *Options) pool(c *Campaign) *farm.Pool {
	if opt.Rigs != nil {
		return opt.Rigs
	}
	n := max(opt.Parallel, 1)
	if !Instanced(c.Target) {
		n = 1
	}
	rigs := make([]farm.Rig, n)
	for i := range rigs {
		rigs[i] = farm.Rig{Target: c.Target}
	}
	return farm.NewPool(rigs)
}

// Instanced reports whether every open of target gets a board of its own,
// so that runs may go in parallel: the simulated board and emulators.
func Instanced(target string) bool {
	for _, s := range []string{"sim:", "qemu:"} {
		if strings.HasPrefix(target, s) {
			return true
		}
	}
	return false
}

// DefaultParallel is the default for --parallel: the number of cores.
func DefaultParallel() int { return runtime.GOMAXPROCS(0) }

type job struct {
	pos      int
	plan     RunPlan
	avoid    map[int]bool
	attempts []Attempt
	tries    int
}

type outcome struct {
	job    *job
	rig    int
	name   string
	rec    *RunRecord
	stored func() error // see executeOn
	err    error
	cyc    *farm.Command
}

// runPlans executes plans over the pool and stores each record in
// opt.Store (unless it is from opt.Done), in plan order, whatever the
// order the runs end in, then hands it to committed. The next record is
// stored as soon as it and all before it are in, once its trace is on
// disk. It returns the first error that ends the campaign (a non-rig
// error, a rig error under "abort", a trace or record that could not be
// stored, ctx), or ErrInterrupted.
//
// Records are stored on a goroutine of their own: a rig (or a core, on
// the simulator) starts its next run while the last record and its trace
// are synced to disk. A crash in that time loses what a crash just before
// the sync would: runs whose records are not on disk, never reported as
// done, which --resume runs again.
func (opt *Options) runPlans(ctx context.Context, c *Campaign, plans []RunPlan, committed func(rec *RunRecord)) error {
	pool := opt.pool(c)
	if err := checkPower(c, pool.Rigs()); err != nil {
		return err
	}
	policy := c.OnRigError
	if policy.Mode == "" {
		policy = DefaultRigErrorPolicy
	}
	n := len(plans)
	results := make([]*RunRecord, n)
	stored := make([]func() error, n)
	var pending []*job
	for i, p := range plans {
		if r, ok := opt.Done[KeyOf(c, p)]; ok {
			results[i] = &r
			continue
		}
		pending = append(pending, &job{pos: i, plan: p, avoid: map[int]bool{}})
	}
	done := make(chan outcome)
	inflight, next, limit, started := 0, 0, n, 0
	var fatal error
	stop := opt.Stop
	interrupted := false
	toCommit, commitFailed, commitsDone := opt.committer(committed)
	for {
		for next < limit && results[next] != nil {
			toCommit <- ready{results[next], stored[next]}
			next++
		}
		if next >= limit && inflight == 0 {
			break
		}
		if !interrupted && opt.stopped() {
			interrupted, stop = true, nil
		}
		// A campaign cancelled before anything started still starts its
		// first run, which is cut short at once and stored as interrupted,
		// as on one rig: what the signal interrupted is on record.
		if fatal == nil && !interrupted && (ctx.Err() == nil || started == 0) {
			for len(pending) > 0 {
				j := pending[0]
				slot, rig := pool.Acquire(j.avoid)
				if slot < 0 {
					break
				}
				pending = pending[1:]
				inflight++
				if opt.Started != nil {
					opt.Started(j.plan)
				}
				started++
				go func() { done <- opt.tryOn(ctx, c, j, slot, rig, pool) }()
				if ctx.Err() != nil {
					break
				}
			}
			if inflight == 0 && len(pending) > 0 {
				// Every rig is quarantined: what is left cannot run.
				for _, j := range pending {
					rec := errorRecord(c, j.plan, *opt, "no rig left in service: every rig is quarantined (see the rig health table)")
					rec.Attempts = j.attempts
					results[j.pos] = rec
				}
				pending = nil
				continue
			}
		}
		if inflight == 0 {
			break
		}
		select {
		case o := <-done:
			inflight--
			opt.settle(ctx, c, policy, o, results, stored, &pending, &fatal, &limit)
		case err := <-commitFailed:
			// Nothing more is committed: no more runs start.
			if fatal == nil {
				fatal = err
			}
			limit = next
		case <-stop:
		}
	}
	close(toCommit)
	<-commitsDone
	// Runs that ended after the campaign stopped are not stored, but
	// their traces' files are closed.
	for _, wait := range stored[next:] {
		if wait != nil {
			_ = wait()
		}
	}
	select {
	case err := <-commitFailed:
		if fatal == nil {
			fatal = err
		}
	default:
	}
	switch {
	case fatal != nil:
		return fatal
	case ctx.Err() != nil:
		return ctx.Err()
	case next < n:
		return ErrInterrupted
	}
	return nil
}

// ready is a record for the committer, and the wait for its trace.
type ready struct {
	rec    *RunRecord
	stored func() error
}

// maxGroup is how many records one sync of the run log may cover: those
// that are ready when the last sync ends (group commit).
const maxGroup = 64

// committer stores the records sent to it, in order, each once its trace
// is on disk, and hands each to committed once it is stored. The records
// that are ready together are written with one sync of the run log.
// After the first failure, which it sends on failed, it stores nothing
// more. done is closed once the channel it reads is closed and all is
// done.
func (opt *Options) committer(committed func(rec *RunRecord)) (records chan<- ready, failed <-chan error, done <-chan struct{}) {
	in, fail, end := make(chan ready, maxGroup), make(chan error, 1), make(chan struct{})
	go func() {
		defer close(end)
		var err error
		group := make([]ready, 0, maxGroup)
		for r := range in {
			group = append(group[:0], r)
		more:
			for len(group) < maxGroup {
				select {
				case r, ok := <-in:
					if !ok {
						break more
					}
					group = append(group, r)
				default:
					break more
				}
			}
			if err == nil {
				var n int
				n, err = opt.store(group)
				for _, r := range group[:n] {
					committed(r.rec)
				}
				if err != nil {
					fail <- err
				}
			}
			if err != nil {
				// Nothing more is stored; the files of the traces
				// are closed all the same.
				for _, r := range group {
					if r.stored != nil {
						_ = r.stored()
					}
				}
			}
		}
	}()
	return in, fail, end
}

// store writes the records of group that are new to opt.Store, each once
// its trace is on disk, and syncs the run log once for all. It returns how
// many of them are stored, and why not all: the records before a trace
// that could not be stored are.
func (opt *Options) store(group []ready) (int, error) {
	var err error
	n, wrote := 0, false
	for _, r := range group {
		if r.stored != nil {
			if err = r.stored(); err != nil {
				break
			}
		}
		if _, resumed := opt.Done[r.rec.Key()]; !resumed && opt.Store != nil {
			if err = opt.Store.Write(r.rec); err != nil {
				break
			}
			wrote = true
		}
		n++
	}
	if wrote {
		if serr := opt.Store.Sync(); serr != nil {
			return 0, serr
		}
	}
	return n, err
}

// settle decides what an ended try leads to: a record, or another try.
func (opt *Options) settle(ctx context.Context, c *Campaign, policy RigErrorPolicy, o outcome, results []*RunRecord, stored []func() error, pending *[]*job, fatal *error, limit *int) {
	j := o.job
	if o.rec == nil {
		// Cancelled (ctx): nothing to store.
		if *fatal == nil && ctx.Err() == nil && o.err != nil {
			*fatal, *limit = o.err, min(*limit, j.pos)
		}
		return
	}
	if o.err != nil && errors.Is(o.err, targets.ErrPermanent) && opt.Rigs == nil {
		// The campaign's one target can never be opened (no such host,
		// not a tty): trying again, or the next run, cannot cure it.
		o.rec.Attempts = j.attempts
		results[j.pos] = o.rec
		if *fatal == nil {
			*fatal, *limit = o.err, min(*limit, j.pos+1)
		}
		return
	}
	if o.err != nil && isRigError(o.err) && ctx.Err() == nil {
		if policy.Mode == OnRigRetry && j.tries < policy.Retries {
			j.attempts = append(j.attempts, Attempt{Rig: o.name, Error: o.rec.Error, PowerCycle: o.cyc})
			j.tries++
			j.avoid[o.rig] = true
			// To the front: the records after it wait for it.
			*pending = append([]*job{j}, *pending...)
			return
		}
		o.rec.Attempts = j.attempts
		results[j.pos] = o.rec
		if policy.Mode == OnRigAbort && *fatal == nil {
			*fatal, *limit = o.err, min(*limit, j.pos+1)
		}
		return
	}
	o.rec.Attempts = j.attempts
	results[j.pos], stored[j.pos] = o.rec, o.stored
	if o.err != nil && *fatal == nil {
		*fatal, *limit = o.err, min(*limit, j.pos+1)
	}
}

// tryOn runs one try of a job on a rig of the pool and gives the rig back,
// power-cycling it first when its health asks for it.
func (opt *Options) tryOn(ctx context.Context, c *Campaign, j *job, slot int, rig farm.Rig, pool *farm.Pool) outcome {
	o := outcome{job: j, rig: slot, name: rig.Name}
	rig.Target = withFirmware(rig.Target, opt.Firmware)
	var flash *farm.Command
	if opt.Firmware != "" && len(rig.Flash) > 0 && !pool.Flashed(slot) {
		cmd, err := farm.Run(ctx, farm.Expand(rig.Flash, opt.Firmware, farm.Port(rig.Target)), rig.CommandTimeout)
		flash = &cmd
		if err != nil {
			o.rec = errorRecord(c, j.plan, *opt, "")
			o.err = &InfraError{Target: rig.Target, Err: fmt.Errorf("flash: %w", err)}
			o.rec.Error = o.err.Error()
			o.rec.Rig = &RigInfo{Name: rig.Name, Target: rig.Target, Flash: flash}
		} else {
			pool.SetFlashed(slot)
		}
	}
	if o.err == nil {
		o.rec, o.stored, o.err = executeOn(ctx, c, j.plan, *opt, rig)
		if o.rec != nil && o.rec.Rig != nil {
			o.rec.Rig.Flash = flash
		}
	}
	res := farm.Passed
	switch {
	case o.rec == nil:
		// cancelled: the rig did nothing wrong
	case o.err != nil && isRigError(o.err):
		res = farm.RigError
	case o.rec.Verdict == Fail:
		res = farm.Failed
	}
	errText := ""
	if o.rec != nil {
		errText = o.rec.Error
	}
	if res == farm.RigError && errors.Is(o.err, targets.ErrPermanent) {
		// A rig that can never be opened is out for the campaign.
		pool.Quarantine(slot, errText)
	}
	if pool.Done(slot, res, errText) {
		cmd, err := farm.Run(ctx, farm.Expand(rig.Power, "", farm.Port(rig.Target)), rig.CommandTimeout)
		o.cyc = &cmd
		pool.PowerCycled(slot, err)
	}
	return o
}

// errorRecord is the record of a run that could not be done at all.
func errorRecord(c *Campaign, p RunPlan, opt Options, msg string) *RunRecord {
	rec := newRecord(c, p, opt)
	rec.Verdict, rec.Error = Error, msg
	fill(rec, nil, c)
	return rec
}

// rigErrors lists the summary's rig errors: every failed try, and the
// runs that stayed in error.
func rigErrors(runs []RunRecord) []RigErrorEntry {
	var out []RigErrorEntry
	for _, r := range runs {
		for _, a := range r.Attempts {
			out = append(out, RigErrorEntry{Index: r.Index, Rig: a.Rig, Error: a.Error, Recovered: r.Verdict != Error})
		}
		if r.Verdict == Error {
			rig := ""
			if r.Rig != nil {
				rig = r.Rig.Name
			}
			out = append(out, RigErrorEntry{Index: r.Index, Rig: rig, Error: r.Error})
		}
	}
	return out
}

// withFirmware points a qemu:// target at the image under test (its fw
// parameter); other targets are flashed through their rig's argv instead.
func withFirmware(target, image string) string {
	if image == "" || !strings.HasPrefix(target, "qemu:") {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	q.Set("fw", image)
	u.RawQuery = q.Encode()
	return u.String()
}

// stayedInError is the error of a summary some of whose runs ended in a
// rig error after every try, or nil.
func stayedInError(sum *Summary) error {
	var stayed []RigErrorEntry
	for _, e := range sum.RigErrors {
		if !e.Recovered {
			stayed = append(stayed, e)
		}
	}
	if len(stayed) > 0 {
		return &StayedInError{Runs: stayed}
	}
	return nil
}
