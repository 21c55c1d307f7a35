package main

import (
	"encoding/json"

	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hilchaos/hilchaos/harness"
)

type runOptions struct {
	target   string
	seed     uint64
	repeat   int
	only     int
	duration time.Duration
	out      string
	format   string
}

func (o *runOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "target URL, overriding the campaign's (sim://pathfinder?mutex=inherit, serial:///dev/ttyACM0, tcp://host:port)")
	f.Uint64Var(&o.seed, "seed", 0, "campaign seed, overriding the file's")
	f.IntVar(&o.repeat, "repeat", 0, "number of runs, overriding the file's")
	f.IntVar(&o.only, "run", -1, "execute only run index N of the plan (to reproduce one run)")
	f.DurationVar(&o.duration, "duration", 0, "board time per run, overriding the file's (e.g. 10s, 8h)")
	f.StringVar(&o.out, "out", "", "results directory: each run record is appended to DIR/runs.jsonl and synced before the next run")
	f.StringVar(&o.format, "format", "table", "output: table or json")
}

func (a *app) runCommand() *cobra.Command {
	var o runOptions
	v := viper.New()
	cmd := &cobra.Command{
		Use:   "run CAMPAIGN",
		Short: "Run a campaign against a target and score it against the reference firmware",
		Long: `Run every planned run of a campaign file on its target (or --target), score
each against the reference firmware run on the same plan, print a table or a
JSON document, and exit with the verdict. Flags may also be set from the
environment as HILCHAOS_<FLAG> (HILCHAOS_TARGET, HILCHAOS_SEED, ...).
` + exitStatusHelp,
		Example: `  hilchaos run campaigns/pathfinder.yaml
  hilchaos run campaigns/pathfinder.yaml --target 'sim://pathfinder?mutex=inherit'
  hilchaos run campaigns/pathfinder.yaml --seed 7 --repeat 10 --out results/ --format json`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			v.SetEnvPrefix("HILCHAOS")
			v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
			v.AutomaticEnv()
			if err := v.BindPFlags(cmd.Flags()); err != nil {
				return err
			}
			o.target, o.out, o.format = v.GetString("target"), v.GetString("out"), v.GetString("format")
			o.repeat, o.only, o.duration = v.GetInt("repeat"), v.GetInt("run"), v.GetDuration("duration")
			o.seed = v.GetUint64("seed")
			switch o.format {
			case "table", "json":
			default:
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want table or json", o.format))
			}
			if o.duration < 0 {
				return withCode(ExitInvalid, fmt.Errorf("--duration %v: must be positive", o.duration))
			}
			if o.repeat < 0 {
				return withCode(ExitInvalid, fmt.Errorf("--repeat %d: must be positive", o.repeat))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			over := harness.Overrides{Target: o.target, Repeat: o.repeat, Duration: o.duration}
			if cmd.Flags().Changed("seed") || os.Getenv("HILCHAOS_SEED") != "" {
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
	if o.only >= c.Repeat {
		return withCode(ExitInvalid, fmt.Errorf("--run %d: the campaign plans runs 0..%d", o.only, c.Repeat-1))
	}
	opt := harness.Options{}
	if o.out != "" {
		st, err := harness.OpenStore(o.out)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		defer st.Close()
		opt.Store = st
	}
	opt.Progress = func(done, total int, r *harness.RunRecord) {
		fmt.Fprintf(a.stderr, "run %d/%d: index %d seed %d: %s, score %.1f, resets %d\n",
			done, total, r.Index, r.Seed, r.Verdict, r.Score, r.Resets.Total())
	}
	var sum *harness.Summary
	if o.only >= 0 {
		sum, err = harness.ExecuteRuns(cmd.Context(), c, []int{o.only}, opt)
	} else {
		sum, err = harness.Execute(cmd.Context(), c, opt)
	}
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
		}
	}
	if err != nil {
		return err
	}
	if sum.Verdict != harness.Pass {
		return errFailed
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
