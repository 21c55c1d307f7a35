package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/report"
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
The exit status is the stored verdict, so a CI step fails as the run did.
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
	sum, warns, err := report.Load(dir)
	for _, w := range warns {
		fmt.Fprintln(a.stderr, "warning:", w)
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
	if sum.Verdict != harness.Pass {
		return errFailed
	}
	return nil
}
