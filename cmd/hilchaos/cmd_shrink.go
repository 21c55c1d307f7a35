package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/shrink"
)

type shrinkOptions struct {
	run          int
	campaign     string
	target       string
	seed         uint64
	out          string
	trials       string
	k, n         int
	p0, p1       float64
	alpha, beta  float64
	maxPer       int
	seeds        int
	confirm      int
	budgetTrials int
	budgetTime   time.Duration
	margin       time.Duration
}

func (a *app) shrinkCommand() *cobra.Command {
	var o shrinkOptions
	cmd := &cobra.Command{
		Use:   "shrink DIR|CAMPAIGN --run N",
		Short: "Shrink a failing run's fault schedule to the smallest one that still fails the same way",
		Long: `Take run N's exact fault firings and its failure signature (for example
"reset:watchdog blocked=bc_dist@bus", or the first failed check) and find a
smallest schedule that still fails the same way: delta debugging (ddmin) over
the firings to a 1-minimal sub-list, then each remaining firing's numeric
parameters (length, extra, priority) bisected toward the smallest value that
still fails, then the run's duration cut to just after the failure.

The source is a results directory (DIR/runs.jsonl, from run --out) or a
campaign file, whose run N is run first (and stored in --out DIR). From a
directory the campaign file is --campaign, or found by its content hash in
DIR or ./campaigns.

On a deterministic target (sim://, qemu:// with icount) one trial judges a
candidate. Elsewhere each candidate is run until Wald's sequential test
(p1=0.9 against p0=0.1, error rates --alpha and --beta) decides, or with
--trials k-of-n until K of N trials decide (docs/SHRINK.md gives the error
rates).

Every trial is appended and synced to DIR/shrink/trials.jsonl: the same
command after an interruption answers the trials already made from the log
and ends with the same result. The result is DIR/shrink/shrunk.yaml (a
campaign with explicit firing times), the command that reproduces it, and
DIR/shrink/REPORT.md, which includes the reference firmware's verdict on
the shrunk campaign.

EXIT STATUS
  0  shrunk (also when the budget ended it early: the report says so)
  2  usage or invalid input, or nothing to shrink (run N passed, or its
     failure does not reproduce)
  3  infrastructure error: the target was unreachable, the results could not
     be written
  130 interrupted: run the same command again to continue`,
		Example: `  hilchaos run campaigns/pathfinder.yaml --out res/
  hilchaos shrink res/ --run 0
  hilchaos shrink campaigns/pathfinder.yaml --run 2 --out res/
  hilchaos shrink res/ --run 0 --target serial:///dev/ttyACM0 --budget-time 2h`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), lookupEnv); err != nil {
				return withCode(ExitInvalid, err)
			}
			if !cmd.Flags().Changed("run") {
				return withCode(ExitInvalid, errors.New("--run N is required: the failing run to shrink"))
			}
			if o.run < 0 {
				return withCode(ExitInvalid, fmt.Errorf("--run %d: want a run index, 0 or more", o.run))
			}
			if !cmd.Flags().Changed("confirm") {
				o.confirm = -1 // the target's default
			}
			if o.budgetTrials < 0 || o.budgetTime < 0 || o.margin < 0 {
				return withCode(ExitInvalid, errors.New("--budget-trials, --budget-time and --margin must not be negative"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.shrink(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.run, "run", 0, "the run to shrink (its index in the plan, as in run --run)")
	f.StringVar(&o.campaign, "campaign", "", "the campaign file of a results directory (default: found by content hash in DIR or ./campaigns)")
	f.StringVar(&o.target, "target", "", "run the trials on this target instead of the run's")
	f.Uint64Var(&o.seed, "seed", 0, "campaign seed, overriding the file's (CAMPAIGN source only)")
	f.StringVar(&o.out, "out", "", "results directory for a CAMPAIGN source (default: shrink-NAME-runN)")
	f.StringVar(&o.trials, "trials", "auto", "how candidates are judged: auto (once on deterministic targets, else sprt), once, sprt, k-of-n")
	f.IntVar(&o.seeds, "seeds", 0, "once: seeds each candidate must fail with on a deterministic target (default 3 on sim://, where the seed draws execution times; 1 elsewhere)")
	f.IntVar(&o.confirm, "confirm", 0, "once: fresh seeds the shrunk schedule must also fail with, or be backed off toward the original (default 10 on sim://, 0 elsewhere)")
	f.IntVar(&o.k, "k", 3, "k-of-n: reproductions needed")
	f.IntVar(&o.n, "n", 5, "k-of-n: trials at most")
	f.Float64Var(&o.p0, "p0", shrink.DefaultSPRT.P0, "sprt: reproduction rate of a schedule that does not reproduce")
	f.Float64Var(&o.p1, "p1", shrink.DefaultSPRT.P1, "sprt: reproduction rate of a schedule that does")
	f.Float64Var(&o.alpha, "alpha", shrink.DefaultSPRT.Alpha, "sprt: chance of keeping a schedule that reproduces only at p0")
	f.Float64Var(&o.beta, "beta", shrink.DefaultSPRT.Beta, "sprt: chance of dropping a schedule that reproduces at p1")
	f.IntVar(&o.maxPer, "max-trials-per-candidate", shrink.DefaultSPRT.MaxTrials, "sprt: trials of one candidate at most; undecided counts as not reproducing")
	f.IntVar(&o.budgetTrials, "budget-trials", 0, "stop after this many trials in all (0: no limit)")
	f.DurationVar(&o.budgetTime, "budget-time", 0, "stop after this much board time in all, e.g. 2h (0: no limit)")
	f.DurationVar(&o.margin, "margin", 500*time.Millisecond, "board time kept after the failure when the run is cut")
	return cmd
}

// shrinkSource is the failing run and its campaign.
type shrinkSource struct {
	dir  string
	c    *harness.Campaign
	rec  record.RunRecord
	path string // the campaign file
}

func (a *app) shrink(cmd *cobra.Command, src string, o shrinkOptions) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	if stop := stopOf(ctx); stop != nil {
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	st, err := os.Stat(src)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("shrink: %w", err))
	}
	var s *shrinkSource
	if st.IsDir() {
		if cmd.Flags().Changed("seed") || o.out != "" {
			return withCode(ExitInvalid, errors.New("--seed and --out apply to a CAMPAIGN source; a results directory already holds its run"))
		}
		s, err = a.sourceFromDir(src, o)
	} else {
		s, err = a.sourceFromCampaign(ctx, cmd, src, o)
	}
	if err != nil {
		return err
	}
	rec := &s.rec
	switch rec.Verdict {
	case record.Pass:
		return withCode(ExitInvalid, fmt.Errorf("nothing to shrink: run %d passed", o.run))
	case record.Error:
		return withCode(ExitInfra, fmt.Errorf("nothing to shrink: run %d did not complete (%s)", o.run, rec.Error))
	case record.Inconclusive:
		return withCode(ExitInfra, fmt.Errorf("nothing to shrink: run %d is inconclusive (it lacks the evidence a verdict needs)", o.run))
	}
	sig, _ := shrink.Signature(harness.ShrinkEvidence(rec))
	firings, err := harness.FiringsOf(s.c, rec)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	c := s.c
	if o.target != "" {
		c.Target = o.target
	} else {
		c.Target = rec.Target
	}

	dec, err := decision(o, c.Target)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	sdir := filepath.Join(s.dir, "shrink")
	log, err := shrink.OpenLog(filepath.Join(sdir, shrink.LogFile))
	if err != nil {
		return withCode(ExitInfra, err)
	}
	defer log.Close()
	if log.Warning != nil {
		fmt.Fprintf(a.stderr, "shrink: %v\n", log.Warning)
	}
	if n := log.Len(); n > 0 {
		fmt.Fprintf(a.stderr, "shrink: resuming: %d trial(s) in %s are answered from the log\n", n, filepath.Join(sdir, shrink.LogFile))
	}
	oracle := &harness.RunOracle{Campaign: c, Index: rec.Index, Seed: rec.Seed, VarySeed: true}
	sh := &shrink.Shrinker{
		Oracle: oracle, Decision: dec, Log: log,
		// A trial's outcome depends on the candidate, the target and the
		// seed, not on how trials are judged: changing --seeds or --trials
		// reuses the log.
		Salt:   fmt.Sprintf("%s|%s|%d", rec.CampaignHash, c.Target, rec.Seed),
		Budget: shrink.Budget{Trials: o.budgetTrials, Board: o.budgetTime},
		Margin: o.margin,
		Progress: func(p shrink.Progress) {
			if a.isTerminal {
				// One line, rewritten per trial, on a terminal.
				fmt.Fprintf(a.stderr, "\r%s\x1b[K", p)
				return
			}
			fmt.Fprintln(a.stderr, p.String())
		},
	}

	orig := shrink.Candidate{Firings: firings, DurationUS: rec.DurationUS}
	if n := len(rec.Faults); n >= harness.MaxFaultLog {
		// The record lists only the first firings. A failure before the
		// last one listed is reproduced by the run up to that firing;
		// after it, the schedule is not known.
		_, at := shrink.Signature(harness.ShrinkEvidence(rec))
		last := rec.Faults[n-1].At
		if at < 0 || at >= last {
			return withCode(ExitInvalid, fmt.Errorf("nothing to shrink: run %d's record lists only its first %d firings (to %s) and its failure is not before them: rerun it with a shorter --duration", o.run, n, shrink.FormatUS(last)))
		}
		orig.DurationUS = last
		fmt.Fprintf(a.stderr, "shrink: the record lists the first %d firings (to %s); the failure at %s comes before, so the run is taken up to there\n", n, shrink.FormatUS(last), shrink.FormatUS(at))
	}
	fmt.Fprintf(a.stderr, "shrink: run %d of %s on %s: %d firing(s), %s, failure %q, trials %s\n",
		rec.Index, rec.Campaign, c.Target, len(firings), shrink.FormatUS(rec.DurationUS), sig, describeDecision(dec))
	wall := time.Now()
	res, err := sh.Shrink(ctx, orig, sig)
	elapsed := time.Since(wall)
	if a.isTerminal {
		fmt.Fprintln(a.stderr) // end the progress line
	}
	switch {
	case err == nil:
	case errors.Is(err, shrink.ErrBudget):
		fmt.Fprintf(a.stderr, "shrink: %v\n", err)
	case errors.Is(err, shrink.ErrNotReproduced):
		return withCode(ExitInvalid, fmt.Errorf("nothing to shrink: run %d: %v", o.run, err))
	case errors.Is(err, context.Canceled):
		return withCode(ExitInterrupted, fmt.Errorf("shrink interrupted after %d trial(s); every finished trial is in %s: run the same command again to continue",
			sh.Trials(), filepath.Join(sdir, shrink.LogFile)))
	default:
		return err
	}
	return a.finishShrink(ctx, s, c, res, elapsed, dec)
}

// On the simulator the seed draws the board's execution times: each
// candidate is judged on defaultSimSeeds seeds, and the result confirmed
// on defaultSimConfirm fresh ones (docs/SHRINK.md).
const (
	defaultSimSeeds   = 3
	defaultSimConfirm = 10
)

// decision turns the flags into the judging of candidates.
func decision(o shrinkOptions, target string) (shrink.Decision, error) {
	var d shrink.Decision
	switch o.trials {
	case "auto":
		if harness.Deterministic(target) {
			d.Mode = shrink.Once
		} else {
			d.Mode = shrink.SPRT
		}
	case "once":
		d.Mode = shrink.Once
	case "sprt":
		d.Mode = shrink.SPRT
	case "k-of-n":
		d.Mode = shrink.KofN
	default:
		return d, fmt.Errorf("--trials %q: want auto, once, sprt or k-of-n", o.trials)
	}
	switch d.Mode {
	case shrink.Once:
		sim := false
		if u, err := url.Parse(target); err == nil && u.Scheme == "sim" {
			sim = true
		}
		d.Seeds, d.Confirm = o.seeds, o.confirm
		if d.Seeds == 0 {
			d.Seeds = 1
			if sim {
				d.Seeds = defaultSimSeeds
			}
		}
		if d.Confirm < 0 {
			d.Confirm = 0
			if sim {
				d.Confirm = defaultSimConfirm
			}
		}
	case shrink.SPRT:
		d.P0, d.P1, d.Alpha, d.Beta, d.MaxTrials = o.p0, o.p1, o.alpha, o.beta, o.maxPer
	case shrink.KofN:
		d.K, d.N = o.k, o.n
	}
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("--trials %s: %w", o.trials, err)
	}
	return d, nil
}

func describeDecision(d shrink.Decision) string {
	switch d.Mode {
	case shrink.SPRT:
		return fmt.Sprintf("sprt (p1=%g vs p0=%g, alpha=%g, beta=%g, at most %d per candidate)", d.P1, d.P0, d.Alpha, d.Beta, d.MaxTrials)
	case shrink.KofN:
		return fmt.Sprintf("%d of %d", d.K, d.N)
	}
	if d.Seeds > 1 || d.Confirm > 0 {
		return fmt.Sprintf("once per seed on %d seed(s), confirmed on %d fresh seed(s) (deterministic target)", d.Seeds, d.Confirm)
	}
	return "once per candidate (deterministic target)"
}

// sourceFromDir reads run N from a results directory and finds its campaign.
func (a *app) sourceFromDir(dir string, o shrinkOptions) (*shrinkSource, error) {
	recs, warns, err := record.ReadRuns(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, withCode(ExitInvalid, fmt.Errorf("%s: no %s: not a results directory", dir, record.RunsFile))
		}
		return nil, withCode(ExitInvalid, err)
	}
	for _, w := range warns {
		fmt.Fprintf(a.stderr, "shrink: %v\n", w)
	}
	var rec *record.RunRecord
	for i := range recs {
		if recs[i].Index == o.run {
			rec = &recs[i]
		}
	}
	if rec == nil {
		return nil, withCode(ExitInvalid, fmt.Errorf("%s: no record of run %d", filepath.Join(dir, record.RunsFile), o.run))
	}
	path, err := findCampaign(dir, o.campaign, rec.CampaignHash)
	if err != nil {
		return nil, withCode(ExitInvalid, err)
	}
	seed := rec.CampaignSeed
	c, err := harness.LoadCampaign(path, harness.Overrides{Target: rec.Target, Seed: &seed})
	if err != nil {
		return nil, err
	}
	if c.Hash != rec.CampaignHash {
		fmt.Fprintf(a.stderr, "shrink: warning: %s has changed since run %d (content hash %s, the run's %s); its fault parameters are used\n", path, o.run, short(c.Hash), short(rec.CampaignHash))
	}
	return &shrinkSource{dir: dir, c: c, rec: *rec, path: path}, nil
}

func short(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}

// findCampaign returns the campaign file of a results directory: the one
// given, else a file in DIR or ./campaigns with the run's content hash.
func findCampaign(dir, given, hash string) (string, error) {
	if given != "" {
		return given, nil
	}
	var cands []string
	for _, pat := range []string{"*.yaml", "*.yml", "*.toml", "*.json"} {
		for _, d := range []string{dir, "campaigns"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			cands = append(cands, m...)
		}
	}
	for _, p := range cands {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		if "sha256:"+hex.EncodeToString(sum[:]) == hash {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no campaign file with the run's content hash %s in %s or ./campaigns: give it with --campaign FILE", dir, short(hash), dir)
}

// sourceFromCampaign runs run N of a campaign (or takes it from --out DIR,
// where an earlier invocation stored it).
func (a *app) sourceFromCampaign(ctx context.Context, cmd *cobra.Command, path string, o shrinkOptions) (*shrinkSource, error) {
	over := harness.Overrides{Target: o.target}
	if cmd.Flags().Changed("seed") {
		over.Seed = &o.seed
	}
	c, err := harness.LoadCampaign(path, over)
	if err != nil {
		return nil, err
	}
	if c.Sweep != nil {
		return nil, withCode(ExitInvalid, fmt.Errorf("%s sweeps %s: run it with --out DIR and shrink the failing run from DIR", path, c.Sweep.Param))
	}
	if o.run >= c.Runs() {
		return nil, withCode(ExitInvalid, fmt.Errorf("--run %d: the campaign plans runs 0..%d", o.run, c.Runs()-1))
	}
	dir := o.out
	if dir == "" {
		dir = fmt.Sprintf("shrink-%s-run%d", c.Name, o.run)
	}
	p := harness.PlanRun(c, o.run)
	key := harness.KeyOf(c, p)
	if recs, _, err := record.ReadRuns(dir); err == nil {
		for _, r := range recs {
			if r.Key() == key && r.Verdict != record.Error {
				fmt.Fprintf(a.stderr, "shrink: run %d is already in %s: not run again\n", o.run, dir)
				return &shrinkSource{dir: dir, c: c, rec: r, path: path}, nil
			}
		}
	}
	st, err := record.OpenStore(dir)
	if err != nil {
		return nil, withCode(ExitInfra, err)
	}
	defer st.Close()
	sum, err := harness.ExecuteRuns(ctx, c, []int{o.run}, harness.Options{Store: st})
	if err != nil {
		return nil, err
	}
	rec := sum.Runs[0]
	fmt.Fprintf(a.stderr, "shrink: ran run %d of %s on %s: %s (stored in %s)\n", o.run, c.Name, c.Target, rec.Verdict, filepath.Join(dir, record.RunsFile))
	// The campaign file goes beside the record, so the directory alone
	// can be shrunk again later.
	if data, err := os.ReadFile(path); err == nil {
		dst := filepath.Join(dir, "campaign"+filepath.Ext(path))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			// The shrink goes on; only a later shrink of the directory
			// alone (without the campaign file) needs the copy.
			fmt.Fprintf(a.stderr, "shrink: warning: could not keep a copy of %s: %v\n", path, err)
		}
	}
	return &shrinkSource{dir: dir, c: c, rec: rec, path: path}, nil
}

// finishShrink writes the shrunk campaign, checks it on the target and on
// the reference, and writes the report.
func (a *app) finishShrink(ctx context.Context, s *shrinkSource, c *harness.Campaign, res *shrink.Result, wall time.Duration, dec shrink.Decision) error {
	rec := &s.rec
	sdir := filepath.Join(s.dir, "shrink")
	runIdx := rec.Index
	if rec.Sweep != nil {
		runIdx = rec.Sweep.Run
	}
	ct := harness.CampaignText(c)
	ct.Name = c.Name + "-shrunk"
	ct.Seed, ct.Repeat = rec.CampaignSeed, runIdx+1
	ct.Description = fmt.Sprintf("run %d of %s shrunk from %d to %d firing(s): %s", rec.Index, c.Name, res.Original.Size(), res.Shrunk.Size(), res.Signature)
	shrunkPath := filepath.Join(sdir, "shrunk.yaml")
	repro := fmt.Sprintf("hilchaos run %s --run %d", shrunkPath, runIdx)
	if ct.Seed > math.MaxInt64 {
		repro += fmt.Sprintf(" --seed %d", ct.Seed)
		ct.Seed = 0
	}
	orig := map[string]map[string]any{}
	for _, f := range res.Original.Firings {
		orig[f.Name] = f.Params
	}
	shortest := res.Shrunk.DurationUS
	write := func() error {
		head := []string{
			fmt.Sprintf("Shrunk by hilchaos shrink from run %d of %s (%s).", rec.Index, c.Name, s.path),
			fmt.Sprintf("Failure signature: %s", res.Signature),
			fmt.Sprintf("Original schedule: %d firing(s) in %s; shrunk: %d firing(s) in %s.", res.Original.Size(), shrink.FormatUS(res.Original.DurationUS), res.Shrunk.Size(), shrink.FormatUS(res.Shrunk.DurationUS)),
			fmt.Sprintf("Run %d of this campaign has the original run's seed %d: reproduce it with", runIdx, rec.Seed),
			"  " + repro,
			"The fault times are explicit (at:), so the other runs differ only in the",
			"board's own execution times.",
		}
		if res.Shrunk.DurationUS > shortest {
			head = append(head, "", fmt.Sprintf("The target fails within %s; the run lasts %s so that the reference", shrink.FormatUS(shortest), shrink.FormatUS(res.Shrunk.DurationUS)),
				"firmware's run has the evidence for a verdict (enough jobs of every checked task).")
		}
		if len(res.Edges) > 0 {
			head = append(head, "", "Parameters keep a margin above the smallest values that failed on the",
				"shrink's judging seeds, so that the board's execution times on other seeds",
				"do not move the failure away:")
			for _, e := range res.Edges {
				f := res.Shrunk.Firings[e.Firing]
				head = append(head, fmt.Sprintf("  %s at %s: %s %v here, failing from %v (was %v)", f.Name, shrink.FormatUS(f.AtUS), e.Param, f.Params[e.Param], e.Edge, e.Original))
			}
		}
		if res.Fragile != "" {
			head = append(head, "", "WARNING: "+res.Fragile+".")
		}
		if res.Exhausted {
			head = append(head, "", "The budget ended the shrink early: this schedule fails, but is not minimal.")
		}
		var buf bytes.Buffer
		if err := shrink.WriteCampaign(&buf, ct, res.Shrunk, head, orig); err != nil {
			return withCode(ExitInfra, err)
		}
		if err := writeSynced(shrunkPath, buf.Bytes()); err != nil {
			return withCode(ExitInfra, err)
		}
		return nil
	}

	// The shrunk file, run like any other: on the target it must fail the
	// same way; on the reference it should pass. A pass needs evidence (a
	// run long enough for the checked tasks' jobs) that a failure does not:
	// while the reference's run is inconclusive, the run is lengthened.
	check := func(target string) (*record.RunRecord, error) {
		sc, err := harness.LoadCampaign(shrunkPath, harness.Overrides{Target: target, Seed: seedOverride(rec.CampaignSeed)})
		if err != nil {
			return nil, fmt.Errorf("the shrunk campaign does not load: %w", err)
		}
		sum, err := harness.ExecuteRuns(ctx, sc, []int{runIdx}, harness.Options{})
		if err != nil {
			return nil, err
		}
		return &sum.Runs[0], nil
	}
	var onTarget, onRef *record.RunRecord
	for step := int64(500_000); ; step *= 2 {
		if err := write(); err != nil {
			return err
		}
		var err error
		if onRef, err = check(c.Reference); err != nil {
			return err
		}
		if onRef.Verdict != record.Inconclusive || res.Shrunk.DurationUS >= res.Original.DurationUS {
			break
		}
		res.Shrunk.DurationUS = min(res.Shrunk.DurationUS+step, res.Original.DurationUS)
	}
	onTarget, err := check(c.Target)
	if err != nil {
		return err
	}
	tSig := harness.OutcomeOf(onTarget)
	var b strings.Builder
	fmt.Fprintf(&b, "# Shrink of run %d of %s\n\n", rec.Index, c.Name)
	fmt.Fprintf(&b, "- source: `%s` (campaign `%s`), target `%s`, run seed %d\n", s.dir, s.path, c.Target, rec.Seed)
	fmt.Fprintf(&b, "- failure signature: `%s`\n", res.Signature)
	fmt.Fprintf(&b, "- trials: %d (%d run now, %d from the log), judged %s\n", res.Trials, res.Ran, res.Trials-res.Ran, describeDecision(dec))
	fmt.Fprintf(&b, "- board time used: %s; wall time of this invocation: %s\n", shrink.FormatUS(res.BoardUS), wall.Round(time.Millisecond))
	if res.Exhausted {
		b.WriteString("- **the budget ended the shrink early**: the schedule below fails but is not minimal\n")
	} else if res.Minimal {
		b.WriteString("- the firing list is 1-minimal: without any one of its firings the failure does not reproduce\n")
	}
	if res.Fragile != "" {
		fmt.Fprintf(&b, "- **WARNING: %s**\n", res.Fragile)
	}
	if len(res.Edges) > 0 {
		b.WriteString("- parameter edges (smallest values that failed on the judging seeds; the schedule keeps a margin above them):\n")
		for _, e := range res.Edges {
			f := res.Shrunk.Firings[e.Firing]
			fmt.Fprintf(&b, "  - %s at %s: %s = %v, fails from %v (was %v)\n", f.Name, shrink.FormatUS(f.AtUS), e.Param, f.Params[e.Param], e.Edge, e.Original)
		}
	}
	b.WriteString("\n## Steps\n\n| step | firings | duration | trials so far |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| original | %d | %s | 0 |\n", res.Original.Size(), shrink.FormatUS(res.Original.DurationUS))
	for _, st := range res.Steps {
		fmt.Fprintf(&b, "| %s | %d | %s | %d |\n", st.Step, st.Firings, shrink.FormatUS(st.DurationUS), st.Trials)
	}
	b.WriteString("\n## Schedule before\n\n")
	writeSchedule(&b, res.Original, 12)
	b.WriteString("\n## Schedule after\n\n")
	writeSchedule(&b, res.Shrunk, 50)
	fmt.Fprintf(&b, "\nCampaign: `%s`. Reproduce:\n\n    %s\n", shrunkPath, repro)
	b.WriteString("\n## Verdicts of the shrunk campaign\n\n")
	fmt.Fprintf(&b, "- on the target `%s`: **%s**", c.Target, onTarget.Verdict)
	if tSig.Signature != "" {
		fmt.Fprintf(&b, " (`%s`)", tSig.Signature)
	}
	b.WriteString("\n")
	if tSig.Signature != res.Signature {
		warn := fmt.Sprintf("WARNING: the shrunk campaign, run as a file, does not fail the way the run did (%q, expected %q)", tSig.Signature, res.Signature)
		fmt.Fprintf(&b, "  - **%s**\n", warn)
		defer fmt.Fprintf(a.stderr, "shrink: %s\n", warn)
	}
	fmt.Fprintf(&b, "- on the reference `%s`: **%s**\n", c.Reference, onRef.Verdict)
	switch onRef.Verdict {
	case record.Pass:
		b.WriteString("\nThe reference passes: the failure is the firmware's.\n")
	case record.Inconclusive:
		var missing []string
		if onRef.Evidence != nil {
			missing = onRef.Evidence.Missing
		}
		warn := fmt.Sprintf("WARNING: the reference firmware's run of the shrunk campaign is inconclusive (%s): it says nothing about whose failure this is.", strings.Join(missing, "; "))
		fmt.Fprintf(&b, "\n**%s**\n", warn)
		defer fmt.Fprintf(a.stderr, "shrink: %s\n", warn)
	default:
		rs := harness.OutcomeOf(onRef)
		warn := fmt.Sprintf("WARNING: the reference firmware fails the shrunk campaign too (%s). The failure is then not the firmware's: the schedule is beyond what any firmware of this task set survives, or the checks are too strict.", rs.Signature)
		fmt.Fprintf(&b, "\n**%s**\n", warn)
		defer fmt.Fprintf(a.stderr, "shrink: %s\n", warn)
	}
	report := b.String()
	if err := writeSynced(filepath.Join(sdir, "REPORT.md"), []byte(report)); err != nil {
		return withCode(ExitInfra, err)
	}
	io.WriteString(a.stdout, report)
	return nil
}

func seedOverride(s uint64) *uint64 { return &s }

// writeSchedule lists a schedule's firings, the first limit of them (0: all).
func writeSchedule(b *strings.Builder, c shrink.Candidate, limit int) {
	fmt.Fprintf(b, "%d firing(s), run of %s:\n\n", c.Size(), shrink.FormatUS(c.DurationUS))
	for i, f := range c.Firings {
		if limit > 0 && i == limit {
			fmt.Fprintf(b, "- ... and %d more\n", c.Size()-limit)
			break
		}
		var ps []string
		for _, k := range slices.Sorted(maps.Keys(f.Params)) {
			ps = append(ps, fmt.Sprintf("%s=%v", k, f.Params[k]))
		}
		fmt.Fprintf(b, "- %s %s %s (%s)\n", shrink.FormatUS(f.AtUS), f.Name, f.Kind, strings.Join(ps, ", "))
	}
}

// writeSynced writes a file and syncs it.
func writeSynced(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
