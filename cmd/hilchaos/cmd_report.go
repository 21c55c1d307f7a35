package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/report"
	"github.com/hilchaos/hilchaos/harness/tracelog"
)

type reportOptions struct {
	junit, html, perfetto string
	format                string
}

func (o *reportOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.junit, "junit", "", "write JUnit XML to FILE (a testcase per check per run)")
	f.StringVar(&o.html, "html", "", "write one self-contained HTML report to FILE (timeline of each failing run)")
	f.StringVar(&o.perfetto, "perfetto", "", "write a Perfetto / Chrome trace-event JSON file to FILE (open in ui.perfetto.dev)")
	f.StringVar(&o.format, "format", "table", "stdout: table or json (the document `run --format json` prints)")
}

func (a *app) reportCommand() *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Report on the runs stored in a results directory",
		Long: `Read the run records (DIR/runs.jsonl) and stored wire streams
(DIR/traces/) that 'hilchaos run --out DIR' wrote, print a table or the JSON
document, and write JUnit XML, an HTML report and a Perfetto trace on request.
The exit status is the stored verdict, so a CI step fails as the run did;
a directory missing planned runs is PARTIAL (exit 3 unless a run failed),
one mixing plans is refused (exit 2), and no output may overwrite an input
(runs.jsonl, plan.json, a trace or the directory itself; exit 2).
` + exitStatusHelp,
		Example: `  hilchaos run campaigns/pathfinder.yaml --out results/
  hilchaos report results/ --junit junit.xml --html report.html --perfetto trace.json`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "table" && o.format != "json" {
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want table or json", o.format))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.report(args[0], o) },
	}
	o.addFlags(cmd)
	return cmd
}

func (a *app) report(dir string, o reportOptions) error {
	if err := checkOutputs(dir, map[string]string{"--junit": o.junit, "--html": o.html, "--perfetto": o.perfetto}); err != nil {
		return withCode(ExitInvalid, err)
	}
	sum, warns, err := report.Load(dir)
	for _, w := range warns {
		fmt.Fprintln(a.stderr, "warning:", w)
	}
	var mixed *report.MixedError
	if errors.As(err, &mixed) {
		return withCode(ExitInvalid, err)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return withCode(ExitInvalid, fmt.Errorf("%s is not a results directory: %w", dir, err))
		}
		return withCode(ExitInvalid, err)
	}
	if o.format == "json" {
		if err := report.WriteJSON(a.stdout, sum); err != nil {
			return withCode(ExitInfra, err)
		}
	} else {
		report.WriteTable(a.stdout, sum, nil)
		writeSweep(a.stdout, sum)
		report.WriteRequirements(a.stdout, sum)
	}
	write := func(path string, f func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		out, err := os.Create(path)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		if err := f(out); err != nil {
			out.Close()
			return withCode(ExitInfra, fmt.Errorf("%s: %w", path, err))
		}
		if err := out.Close(); err != nil {
			return withCode(ExitInfra, err)
		}
		return nil
	}
	if err := write(o.junit, func(w io.Writer) error { return report.WriteJUnit(w, sum) }); err != nil {
		return err
	}
	if err := write(o.html, func(w io.Writer) error { return report.WriteHTML(w, dir, sum) }); err != nil {
		return err
	}
	if err := write(o.perfetto, func(w io.Writer) error {
		warns, err := report.WritePerfetto(w, dir, sum)
		for _, w := range warns {
			fmt.Fprintln(a.stderr, "warning:", w)
		}
		return err
	}); err != nil {
		return err
	}
	search := sum.Sweep != nil && sum.Sweep.Search != ""
	switch {
	case search && sum.Verdict == harness.Pass:
		return nil // runs that break are what a search looks for
	case sum.Failed > 0 || sum.Verdict == harness.Fail:
		return errFailed
	case sum.Verdict != harness.Pass:
		return withCode(ExitInfra, fmt.Errorf("%s: %s", dir, report.SummaryLine(sum)))
	case sum.Planned > 0 && len(sum.Runs) < sum.Planned && (sum.Sweep == nil || sum.Sweep.Search == ""):
		// Not every planned run is there: no verdict covers the set.
		return withCode(ExitInfra, fmt.Errorf("%s holds %d of the %d planned runs: no verdict on the missing ones (rerun with --resume)", dir, len(sum.Runs), sum.Planned))
	}
	return nil
}

// checkOutputs refuses report files that would overwrite the evidence they
// are made from (the run log, the plan, a stored trace, the directory
// itself) or each other. Paths are compared after resolving links.
func checkOutputs(dir string, outs map[string]string) error {
	resolve := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return filepath.Clean(p)
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		// Not there yet: resolve its directory.
		if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			return filepath.Join(r, filepath.Base(abs))
		}
		return abs
	}
	root := resolve(dir)
	inputs := map[string]bool{root: true, resolve(filepath.Join(dir, record.RunsFile)): true, resolve(filepath.Join(dir, record.PlanFile)): true}
	traces := resolve(filepath.Join(dir, tracelog.Dir))
	seen := map[string]string{}
	flags := make([]string, 0, len(outs))
	for f := range outs {
		flags = append(flags, f)
	}
	sort.Strings(flags)
	for _, flag := range flags {
		p := outs[flag]
		if p == "" {
			continue
		}
		r := resolve(p)
		switch {
		case inputs[r]:
			return fmt.Errorf("%s %s: that is an input of this report (%s); write the report somewhere else", flag, p, r)
		case r == traces || strings.HasPrefix(r, traces+string(filepath.Separator)):
			return fmt.Errorf("%s %s: that is inside the stored traces (%s); write the report somewhere else", flag, p, traces)
		case seen[r] != "":
			return fmt.Errorf("%s %s: the same file as %s", flag, p, seen[r])
		}
		if st, err := os.Stat(r); err == nil {
			for in := range inputs {
				if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
					return fmt.Errorf("%s %s: that is %s, an input of this report", flag, p, in)
				}
			}
		}
		seen[r] = flag
	}
	return nil
}
