package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness/conform"
	"github.com/hilchaos/hilchaos/targets"
)

type conformOptions struct {
	timeout   time.Duration
	tolerance time.Duration
	runLength time.Duration
	reconnect time.Duration
	seed      uint64
	format    string
}

func (a *app) conformCommand() *cobra.Command {
	var o conformOptions
	cmd := &cobra.Command{
		Use:   "conform TARGET",
		Short: "Check a board's implementation of the wire protocol, rule by rule",
		Long: `Connect to the board behind TARGET and check every rule of docs/PROTOCOL.md
that a host can observe: banner and table, TE counts, idempotent command ids,
fault firing time against the board's clock, DN, SP, reset reasons, the black
box after a watchdog reset, sequence numbers and frame lengths. One line per
rule: PASS, FAIL or SKIP, the rule, the spec section, and what was seen.

The script resets the board (RS), runs it for a few seconds of its own time,
and provokes one watchdog reset with a load burst above every task. Rules of
protocol version 2 are skipped on a board whose banner says version 1. See
docs/CONFORM.md.

EXIT STATUS
  0  every applicable rule passed
  1  a rule failed
  2  usage: a flag or the target URL is wrong
  3  the board cannot be reached: the target did not open, the link went
     away, or not a byte came from it`,
		Example: `  hilchaos conform sim://pathfinder
  hilchaos conform serial:///dev/ttyACM0?baud=921600
  hilchaos conform tcp://rig7.lab:3001 --tolerance 10ms`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			for _, d := range []struct {
				name string
				v    time.Duration
			}{{"timeout", o.timeout}, {"tolerance", o.tolerance}, {"run-length", o.runLength}} {
				if d.v <= 0 {
					return withCode(ExitInvalid, fmt.Errorf("--%s %v: must be positive", d.name, d.v))
				}
			}
			if o.format != "text" && o.format != "json" {
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want text or json", o.format))
			}
			if o.reconnect < 0 {
				return withCode(ExitInvalid, fmt.Errorf("--reconnect %v: must not be negative", o.reconnect))
			}
			if _, _, err := targets.Parse(args[0]); err != nil {
				return withCode(ExitInvalid, err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.conform(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.DurationVar(&o.timeout, "timeout", conform.DefaultTimeout, "wait for each answer, in board time")
	f.DurationVar(&o.tolerance, "tolerance", conform.DefaultTolerance, "how far FB and DN may be from their due time, in board time")
	f.DurationVar(&o.runLength, "run-length", conform.DefaultRunLength, "board time of the main run (at least 1.2s)")
	f.DurationVar(&o.reconnect, "reconnect", 10*time.Second, "how long a link that breaks (a USB board re-enumerating after its reset) is waited for")
	f.Uint64Var(&o.seed, "seed", 1, "seed of a simulated board's execution times")
	f.StringVar(&o.format, "format", "text", "output: text (a line per rule) or json")
	return cmd
}

func (a *app) conform(cmd *cobra.Command, url string, o conformOptions) error {
	t, err := targets.Open(url, targets.Options{Seed: o.seed, Trace: 1, Reconnect: o.reconnect})
	if err != nil {
		var ue *targets.URLError
		if errors.As(err, &ue) {
			return withCode(ExitInvalid, err)
		}
		return withCode(ExitInfra, fmt.Errorf("%s: %w", url, err))
	}
	defer t.Close()
	rep, err := conform.Run(cmd.Context(), t, conform.Options{Timeout: o.timeout, Tolerance: o.tolerance, RunLength: o.runLength})
	if o.format == "json" && rep != nil {
		if werr := writeJSON(a.stdout, rep); werr != nil {
			return withCode(ExitInfra, werr)
		}
	} else {
		writeConform(a, rep)
	}
	var ie *conform.InfraError
	switch {
	case errors.As(err, &ie):
		return withCode(ExitInfra, err)
	case err != nil:
		return err
	case len(rep.Failed()) > 0:
		return withCode(ExitFail, fmt.Errorf("%s: %d rule(s) failed: %v", url, len(rep.Failed()), rep.Failed()))
	}
	return nil
}

func writeConform(a *app, rep *conform.Report) {
	if rep == nil {
		return
	}
	w := a.stdout
	board := rep.Board
	if board == "" {
		board = "no banner seen"
	}
	fmt.Fprintf(w, "conform %s: %s, protocol %d\n", rep.Target, board, rep.Proto)
	for _, r := range rep.Results {
		line := fmt.Sprintf("%-4s  %-16s  §%-6s  %s", r.Status, r.ID, r.Section, r.Title)
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", rep.Count(conform.Pass), rep.Count(conform.Fail), rep.Count(conform.Skip))
}
