package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness/gate"
	"github.com/hilchaos/hilchaos/harness/report"
)

type gateOptions struct {
	baseline, candidate string
	format              string
	alpha               float64
	byRig, sameBuild    bool
	allowDifferent      bool
}

func (a *app) gateCommand() *cobra.Command {
	var o gateOptions
	cmd := &cobra.Command{
		Use:   "gate --baseline DIR --candidate DIR",
		Short: "Decide whether a candidate result set is worse than a baseline",
		Long: `Compare the run log of a candidate (DIR/runs.jsonl, as written by run --out)
with a baseline's and decide whether the candidate regressed:

  absolute  every check the candidate's runs failed (the campaign's limits):
            a regression whatever the sample size;
  relative  for each task, its per-run p99_response_us and max_response_us:
            a one-sided Mann-Whitney U test (exact without ties for up to 30
            runs a side, else normal with tie correction); and the fraction
            of runs with any reset: a one-sided Fisher exact test.

The relative tests form one family at --alpha (Holm's correction), so
adding metrics does not add false alarms. A side with too few runs to reach
significance at all gets no verdict: "sample too small", exit status 2.
docs/GATE.md says how many runs detect what.

EXIT STATUS
  0  pass: no check failed, no metric significantly worse
  1  regression: the report names each check and metric
  2  invalid input: a directory is missing or unreadable, the sides are not
     comparable (different campaigns by content hash, unless
     --allow-different; different board durations or trace levels), or a
     sample is too small and no check failed
  3  infrastructure error: a run in the inputs ended in a rig failure`,
		Example: `  hilchaos run campaigns/gate-example.yaml --target 'sim://pathfinder?mutex=inherit' --out base/
  hilchaos run campaigns/gate-example.yaml --target "$CANDIDATE" --seed 2 --out cand/
  hilchaos gate --baseline base/ --candidate cand/ --format markdown > comment.md`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), lookupEnv); err != nil {
				return withCode(ExitInvalid, err)
			}
			switch o.format {
			case "table", "json", "markdown":
			default:
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want table, json or markdown", o.format))
			}
			if o.alpha <= 0 || o.alpha >= 1 {
				return withCode(ExitInvalid, fmt.Errorf("--alpha %g: want a probability between 0 and 1", o.alpha))
			}
			if o.baseline == "" || o.candidate == "" {
				return withCode(ExitInvalid, errors.New("give both --baseline DIR and --candidate DIR"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.gate(o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.baseline, "baseline", "", "results directory of the baseline (e.g. the main branch's firmware)")
	f.StringVar(&o.candidate, "candidate", "", "results directory of the candidate (e.g. the pull request's firmware)")
	f.StringVar(&o.format, "format", "table", "output: table, json or markdown (for a pull-request comment)")
	f.Float64Var(&o.alpha, "alpha", gate.DefaultAlpha, "family-wise false-alarm rate of the relative tests")
	f.BoolVar(&o.byRig, "by-rig", false, "stratify the latency tests by the rig each run was done on (run --rigs), so rig-to-rig differences are not read as regressions")
	f.BoolVar(&o.sameBuild, "allow-same-build", false, "compare even when both sides' boards report the same firmware build id")
	f.BoolVar(&o.allowDifferent, "allow-different", false, "compare result sets of different campaigns (by content hash) instead of refusing them")
	return cmd
}

func (a *app) gate(o gateOptions) error {
	base, bw, err := gate.Load(o.baseline)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	cand, cw, err := gate.Load(o.candidate)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	for _, w := range append(bw, cw...) {
		fmt.Fprintf(a.stderr, "gate: %v\n", w)
	}
	rep := gate.Compare(o.baseline, base, o.candidate, cand, gate.Config{Alpha: o.alpha, AllowDifferent: o.allowDifferent, ByRig: o.byRig, AllowSameBuild: o.sameBuild})
	switch o.format {
	case "json":
		if err := writeJSON(a.stdout, rep); err != nil {
			return withCode(ExitInfra, err)
		}
	case "markdown":
		writeGateMarkdown(a.stdout, rep)
	default:
		writeGateTable(a.stdout, rep)
	}
	switch rep.Verdict {
	case gate.Pass:
		return nil
	case gate.Regression:
		return errFailed
	case gate.Invalid:
		return withCode(ExitInvalid, errors.New(rep.Reason))
	default:
		return withCode(ExitInfra, errors.New(rep.Reason))
	}
}

func verdictWord(v string) string {
	switch v {
	case gate.Pass:
		return "PASS"
	case gate.Regression:
		return "REGRESSION"
	case gate.Invalid:
		return "NO VERDICT"
	}
	return "ERROR"
}

func side(s gate.Side) string {
	return fmt.Sprintf("%s: %d run(s) of %s, %s, firmware %s", s.Dir, s.Runs, s.Campaign, strings.Join(s.Targets, " "), strings.Join(s.Firmware, " "))
}

func metricValue(t gate.Test, v float64) string {
	if t.Test == "fisher" {
		return fmt.Sprintf("%.0f%%", 100*v)
	}
	return fmt.Sprintf("%.2f ms", v/1000)
}

func testVerdict(t gate.Test) string {
	switch {
	case t.Undecided != "":
		return "undecided: " + t.Undecided
	case t.Regression:
		return "WORSE"
	}
	return "ok"
}

func writeGateTable(w io.Writer, rep *gate.Report) {
	fmt.Fprintf(w, "baseline  %s\ncandidate %s\n\n", side(rep.Baseline), side(rep.Candidate))
	if len(rep.Tests) > 0 {
		t := report.NewTable(w)
		t.Header("metric", "test", "baseline", "candidate", "p", "p (Holm)", "verdict")
		for _, x := range rep.Tests {
			t.Append(x.Metric, x.Test, metricValue(x, x.Baseline), metricValue(x, x.Candidate),
				fmt.Sprintf("%.3g", x.P), fmt.Sprintf("%.3g", x.PAdjusted), testVerdict(x))
		}
		t.Render()
		fmt.Fprintln(w, "baseline and candidate columns: medians over the runs; resets: share of runs with any reset")
	}
	if len(rep.FailedChecks) > 0 {
		fmt.Fprintln(w)
		t := report.NewTable(w)
		t.Header("failed check", "requirement", "candidate runs failing", "worst observed")
		for _, f := range rep.FailedChecks {
			t.Append(f.Check, f.Requirement, fmt.Sprintf("%d of %d: %s", len(f.Runs), f.Of, joinInts(f.Runs)), f.WorstText)
		}
		t.Render()
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "\n%s: %s\n", verdictWord(rep.Verdict), rep.Reason)
}

func writeGateMarkdown(w io.Writer, rep *gate.Report) {
	fmt.Fprintf(w, "### hilchaos gate: %s\n\n%s\n\n", verdictWord(rep.Verdict), rep.Reason)
	fmt.Fprintf(w, "- **baseline** %s\n- **candidate** %s\n\n", side(rep.Baseline), side(rep.Candidate))
	if len(rep.Tests) > 0 {
		fmt.Fprintln(w, "| metric | test | baseline | candidate | p | p (Holm) | verdict |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|")
		for _, x := range rep.Tests {
			v := testVerdict(x)
			if x.Regression {
				v = "**worse**"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s | %.3g | %.3g | %s |\n", x.Metric, x.Test,
				metricValue(x, x.Baseline), metricValue(x, x.Candidate), x.P, x.PAdjusted, v)
		}
		fmt.Fprintf(w, "\nMedians over runs; one-sided tests, family-wise alpha %g (Holm).\n", rep.Alpha)
	}
	if len(rep.FailedChecks) > 0 {
		fmt.Fprintln(w, "\n| failed check | requirement | candidate runs failing | worst observed |")
		fmt.Fprintln(w, "|---|---|---|---:|")
		for _, f := range rep.FailedChecks {
			fmt.Fprintf(w, "| `%s` | %s | %d of %d: %s | %s |\n", f.Check, f.Requirement, len(f.Runs), f.Of, joinInts(f.Runs), f.WorstText)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "\n> %s\n", n)
	}
}
