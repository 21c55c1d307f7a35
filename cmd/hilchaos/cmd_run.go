package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/report"
)

// ExitInterrupted is the exit status of a campaign stopped by SIGINT or
// SIGTERM before every run was done (128 + SIGINT, as shells report it).
const ExitInterrupted = 130

type runOptions struct {
	target     string
	seed       uint64
	repeat     int
	only       int
	duration   time.Duration
	out        string
	format     string
	resume     bool
	sweepValue string
	farm       farmOptions // run_farm_flags.go
}

func (o *runOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "target URL, overriding the campaign's (sim://pathfinder?mutex=inherit, serial:///dev/ttyACM0, tcp://host:port)")
	f.Uint64Var(&o.seed, "seed", 0, "campaign seed, overriding the file's")
	f.IntVar(&o.repeat, "repeat", 0, "number of runs, overriding the file's")
	f.IntVar(&o.only, "run", -1, "execute only run N of the plan (of the --sweep-value, for a sweep), to reproduce one run")
	f.DurationVar(&o.duration, "duration", 0, "board time per run, overriding the file's (e.g. 10s, 8h)")
	f.StringVar(&o.out, "out", "", "results directory: each run record is appended to DIR/runs.jsonl and synced before the next run")
	f.StringVar(&o.format, "format", "table", "output: table or json")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted campaign in --out: runs already in DIR/runs.jsonl are not run again")
	f.StringVar(&o.sweepValue, "sweep-value", "", "run only this value of the campaign's sweep (e.g. 35ms), to reproduce a sweep run")
	o.farm.addFlags(f)
}

// envPrefix is the prefix of the environment variables that set flags.
const envPrefix = "HILCHAOS_"

// envName is the variable that sets flag name: --sweep-value is
// HILCHAOS_SWEEP_VALUE.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// HILCHAOS_* variable, parsed as the flag's own type, so HILCHAOS_SEED=x or
// HILCHAOS_DURATION=10 is an error naming the variable, not a silent zero.
func applyEnv(fs *pflag.FlagSet, getenv func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		val, ok := getenv(envName(f.Name))
		if !ok {
			return
		}
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[fromEnv] = []string{envName(f.Name)}
		if err := fs.Set(f.Name, val); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: not a valid %s for --%s: %v", envName(f.Name), val, f.Value.Type(), f.Name, unwrapAll(err)))
		}
	})
	return errors.Join(errs...)
}

// fromEnv marks a flag whose value came from its HILCHAOS_* variable.
const fromEnv = "hilchaos-from-env"

// flagSource names where a flag's value came from, for an error message.
func flagSource(f *pflag.Flag) string {
	if v := f.Annotations[fromEnv]; len(v) > 0 {
		return fmt.Sprintf("%s=%q (for --%s)", v[0], f.Value.String(), f.Name)
	}
	return fmt.Sprintf("--%s %q", f.Name, f.Value.String())
}

// refuseEmpty refuses values given (on the command line or in the
// environment) that can only be a mistake: an empty string, a zero or
// negative count or duration, a negative run index. Defaults are not
// checked: they mean "not given".
func refuseEmpty(fs *pflag.FlagSet, positive, nonNegative, nonEmpty []string) error {
	var errs []error
	check := func(names []string, bad func(f *pflag.Flag) bool, why string) {
		for _, n := range names {
			if f := fs.Lookup(n); f != nil && f.Changed && bad(f) {
				errs = append(errs, fmt.Errorf("%s: %s", flagSource(f), why))
			}
		}
	}
	num := func(f *pflag.Flag) float64 {
		if d, err := time.ParseDuration(f.Value.String()); err == nil {
			return float64(d)
		}
		var x float64
		fmt.Sscan(f.Value.String(), &x) //nolint:errcheck // the flag parsed it already
		return x
	}
	check(positive, func(f *pflag.Flag) bool { return num(f) <= 0 }, "must be positive")
	check(nonNegative, func(f *pflag.Flag) bool { return num(f) < 0 }, "must not be negative")
	check(nonEmpty, func(f *pflag.Flag) bool { return strings.TrimSpace(f.Value.String()) == "" }, "must not be empty")
	return errors.Join(errs...)
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func (a *app) runCommand() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run CAMPAIGN",
		Short: "Run a campaign against a target and score it against the reference firmware",
		Long: `Run every planned run of a campaign file on its target (or --target), score
each against the reference firmware run on the same plan, print a table or a
JSON document, and exit with the verdict.

Every flag may also be set from the environment as HILCHAOS_<FLAG>, dashes
as underscores: HILCHAOS_TARGET, HILCHAOS_SEED, HILCHAOS_DURATION=10s,
HILCHAOS_SWEEP_VALUE, ... A flag on the command line wins over the
environment; a value that does not parse is an error naming the variable.

OVERNIGHT
  With --out DIR every run record is appended to DIR/runs.jsonl and synced
  to disk before the next run starts; the directory is locked while in use
  and holds the runs of one plan (DIR/plan.json): another seed, target,
  duration or campaign is refused. The first SIGINT (Ctrl-C) or SIGTERM
  starts no new run and gives the run in progress 800 ms to finish; a
  longer one is cut short and stored as interrupted. The summary says
  INTERRUPTED: N of M runs (exit status 130); a second signal aborts at
  once.
  After a crash, kill -9 or an interrupt, the same command with --resume
  runs only what is missing: a run is skipped when DIR/runs.jsonl holds its
  record (same campaign content hash, target, board duration, run index and
  seed), so no run is stored twice. Without --resume, a directory that
  already holds runs of this plan is refused.
` + exitStatusHelp + `
  130  interrupted: the summary covers the runs finished before the signal`,
		Example: `  hilchaos run campaigns/pathfinder.yaml
  hilchaos run campaigns/pathfinder.yaml --target 'sim://pathfinder?mutex=inherit'
  hilchaos run campaigns/pathfinder.yaml --seed 7 --repeat 10 --out results/ --format json
  hilchaos run campaigns/overnight-soak.yaml --out soak/ --resume
  HILCHAOS_DURATION=10s hilchaos run campaigns/preflight.yaml`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), lookupEnv); err != nil {
				return withCode(ExitInvalid, err)
			}
			switch o.format {
			case "table", "json":
			default:
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want table or json", o.format))
			}
			if err := refuseEmpty(cmd.Flags(), []string{"duration", "repeat"}, []string{"run"}, []string{"target", "out", "sweep-value", "format"}); err != nil {
				return withCode(ExitInvalid, err)
			}
			if o.resume && o.out == "" {
				return withCode(ExitInvalid, errors.New("--resume needs --out DIR: the results directory to continue"))
			}
			if err := checkTargetFlag(o.target); err != nil {
				return err
			}
			return o.farm.check(o.only, o.sweepValue)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			over := harness.Overrides{Target: o.target, Repeat: o.repeat, Duration: o.duration}
			if cmd.Flags().Changed("seed") {
				over.Seed = &o.seed
			}
			return a.run(cmd, args[0], over, o)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (a *app) run(cmd *cobra.Command, path string, over harness.Overrides, o runOptions) error {
	c, err := harness.LoadCampaign(path, over)
	if err != nil {
		return err
	}
	if o.sweepValue != "" {
		if err := c.SelectSweepValue(o.sweepValue); err != nil {
			return withCode(ExitInvalid, err)
		}
	}
	if o.only >= 0 {
		if c.Sweep != nil && c.Sweep.Search != "" {
			return withCode(ExitInvalid, fmt.Errorf("--run %d: a search campaign plans its runs as it goes; give --sweep-value too", o.only))
		}
		if o.only >= c.Runs() {
			return withCode(ExitInvalid, fmt.Errorf("--run %d: the campaign plans runs 0..%d", o.only, c.Runs()-1))
		}
	}
	opt := harness.Options{Stop: stopOf(cmd.Context())}
	if err := o.farm.apply(c, &opt); err != nil {
		return err
	}
	if o.farm.url == "" {
		// A power-cycle fault needs a board whose power the host can
		// switch: refused before anything runs (the agents of a farm
		// check their own rigs).
		var rigs []farm.Rig
		if opt.Rigs != nil {
			rigs = opt.Rigs.Rigs()
		}
		if err := harness.CheckPower(c, rigs); err != nil {
			return err
		}
	}
	if o.out != "" {
		st, err := record.OpenStoreFor(o.out, c.PlanID())
		var other *record.OtherPlanError
		var locked *record.LockedError
		switch {
		case errors.As(err, &other), errors.As(err, &locked):
			return withCode(ExitInvalid, err)
		case err != nil:
			return withCode(ExitInfra, err)
		}
		defer st.Close()
		opt.Store = st
		for _, w := range st.Warnings {
			fmt.Fprintf(a.stderr, "resume: %v\n", w)
		}
		if opt.Done, err = a.finished(c, o); err != nil {
			return err
		}
		if n := len(opt.Done); n > 0 {
			fmt.Fprintf(a.stderr, "resume: %d finished run(s) of this plan in %s are not run again\n", n, o.out)
		}
	}
	prog := a.progress(c, len(opt.Done))
	opt.Progress = prog.update
	if err := o.farm.serveMetrics(a, &opt); err != nil { // run_farm_flags.go
		return err
	}
	defer o.farm.close()
	opt.Started = prog.started
	var sum *harness.Summary
	if o.only >= 0 {
		sum, err = harness.ExecuteRuns(prog.live.context(cmd.Context()), c, []int{o.only}, opt)
	} else if o.farm.url != "" {
		sum, err = o.farm.execute(prog.live.context(cmd.Context()), c, opt, path) // run_farm_flags.go
	} else {
		sum, err = harness.Execute(prog.live.context(cmd.Context()), c, opt)
	}
	prog.finish()
	if sum != nil {
		for i := range sum.Runs {
			sum.Runs[i].Host = nil
		}
		switch o.format {
		case "json":
			if werr := writeJSON(a.stdout, sum); werr != nil {
				return withCode(ExitInfra, werr)
			}
		default:
			writeTable(a.stdout, c, sum, path)
			writeSweep(a.stdout, sum)
			report.WriteRequirements(a.stdout, sum)
			writeRigs(a.stdout, sum)
		}
	}
	// ErrInterrupted: the first signal, the run in progress was finished
	// and stored. context.Canceled: a second one aborted it.
	if errors.Is(err, harness.ErrInterrupted) || errors.Is(err, context.Canceled) {
		again := resumeCommand(cmd, path)
		if o.out == "" {
			again = "(no --out: give --out DIR to keep runs across interruptions)"
		}
		complete, cut := 0, ""
		for _, r := range sum.Runs {
			if r.Verdict == record.Interrupted {
				cut = fmt.Sprintf(" (run %d cut short and stored as interrupted)", r.Index)
				continue
			}
			complete++
		}
		return withCode(ExitInterrupted, fmt.Errorf("interrupted after %d run(s)%s; the summary covers only those. Continue with: %s", complete, cut, again))
	}
	if err != nil {
		return err
	}
	if sum.Verdict == harness.Inconclusive {
		return withCode(ExitInfra, fmt.Errorf("inconclusive: %d run(s) lack the evidence a verdict needs (see each run's evidence.missing)", sum.Inconclusive))
	}
	if sum.Verdict != harness.Pass {
		return errFailed
	}
	return nil
}

// resumeCommand is the command line that continues this invocation.
func resumeCommand(cmd *cobra.Command, path string) string {
	parts := []string{"hilchaos run", path}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "resume" {
			return
		}
		v := f.Value.String()
		if strings.ContainsAny(v, " ?&*'\"") {
			v = "'" + v + "'"
		}
		parts = append(parts, "--"+f.Name+" "+v)
	})
	return strings.Join(append(parts, "--resume"), " ")
}

// finished reads the runs of this campaign already in the results
// directory. With --resume they are returned for skipping; without it, a
// directory that holds any of them is refused, so no run is stored twice.
func (a *app) finished(c *harness.Campaign, o runOptions) (map[harness.RunKey]harness.RunRecord, error) {
	recs, warns, err := harness.ReadRuns(o.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, withCode(ExitInfra, err)
	}
	for _, w := range warns {
		fmt.Fprintf(a.stderr, "resume: %v\n", w)
	}
	planned := map[harness.RunKey]bool{}
	for _, p := range harness.Plan(c) {
		planned[harness.KeyOf(c, p)] = true
	}
	done := map[harness.RunKey]harness.RunRecord{}
	for _, r := range recs {
		if !planned[r.Key()] || r.Verdict == harness.Error || r.Verdict == record.Interrupted {
			continue // not a run of this plan, or a rig failure or cut-short run worth retrying
		}
		if _, dup := done[r.Key()]; !dup {
			done[r.Key()] = r
		}
	}
	if !o.resume && len(done) > 0 {
		return nil, withCode(ExitInvalid, fmt.Errorf("%s already holds %d run(s) of this plan: add --resume to continue it, or use another directory", o.out, len(done)))
	}
	return done, nil
}

// progressReporter shows a bar with an ETA on a terminal and plain lines
// otherwise, both on stderr.
type progressReporter struct {
	a       *app
	bar     *progressbar.ProgressBar
	skipped int
	start   time.Time
	ran     int
	live    *liveProgress // inside a run on a real-time board (progress_live.go)
	// mu orders the lines of runs that start and runs that end: records
	// are committed on a goroutine of their own (harness.Options).
	mu sync.Mutex
}

func (a *app) progress(c *harness.Campaign, skipped int) *progressReporter {
	p := &progressReporter{a: a, skipped: skipped, start: time.Now()}
	if a.isTerminal {
		p.bar = progressbar.NewOptions(c.Runs(),
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription(c.Name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(skipped)
	}
	p.live = newLiveProgress(a.stderr, p.bar, c.Name, c.Runs(), skipped)
	return p
}

func (p *progressReporter) update(done, total int, r *harness.RunRecord) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live.finished(done, total, r)
	p.ran++
	if p.bar != nil {
		p.bar.ChangeMax(total)
		_ = p.bar.Set(done)
		return
	}
	eta := ""
	if left := total - done; left > 0 && p.ran > 0 {
		per := time.Since(p.start) / time.Duration(p.ran)
		if d := (per * time.Duration(left)).Round(time.Second); d > 0 {
			eta = fmt.Sprintf(", eta %s", d)
		}
	}
	sweep := ""
	if r.Sweep != nil {
		sweep = fmt.Sprintf(" %s=%s", r.Sweep.Param, r.Sweep.Value)
	}
	fmt.Fprintf(p.a.stderr, "run %d/%d: index %d seed %d%s: %s, score %.1f, resets %d%s\n",
		done, total, r.Index, r.Seed, sweep, r.Verdict, r.Score, r.Resets.Total(), eta)
}

// started says a run began, on plain output: on a long run it is the only
// sign of life until the run ends.
func (p *progressReporter) started(plan harness.RunPlan) {
	if p.bar != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sweep := ""
	if plan.Sweep != nil {
		sweep = fmt.Sprintf(" %s=%s", plan.Sweep.Param, plan.Sweep.Value)
	}
	fmt.Fprintf(p.a.stderr, "run index %d seed %d%s: started, %s of board time\n", plan.Index, plan.Seed, sweep, plan.Duration)
}

func (p *progressReporter) finish() {
	p.live.stop()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// isTerminal reports whether w is a terminal (for the progress bar).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type stopKey struct{}

// WithStop returns ctx carrying a channel whose closing asks a running
// campaign to stop gracefully: finish the run in progress, store it, and
// print the summary (main closes it on the first SIGINT).
func WithStop(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

func stopOf(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return ch
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// lookupEnv reads the environment (a variable so tests could replace it).
var lookupEnv = os.LookupEnv
