package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// app is what commands see of the outside world, so the CLI runs in tests
// in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	isTerminal     bool
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, isTerminal: isTerminal(stderr)}
	root := a.rootCommand()
	typeUsageErrors(root)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	printError(stderr, err)
	return exitCode(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hilchaos",
		Short: "Chaos test harness for hardware-in-the-loop rigs",
		Long: `hilchaos drives a target board over serial, injects load bursts and
lock-hold delays from campaign files, watches for watchdog resets and timing
violations, and scores every run against a bundled reference firmware.` + "\n" + exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(a.runCommand())
	root.AddCommand(a.campaignCommand())
	root.AddCommand(a.gateCommand())
	root.AddCommand(a.reportCommand())
	root.AddCommand(a.firmwareCommand())
	root.AddCommand(a.portsCommand())
	root.AddCommand(a.rigsCommand())
	root.AddCommand(a.agentCommand())
	root.AddCommand(a.shrinkCommand())
	root.AddCommand(a.conformCommand())
	setVersion(root)
	addCompletions(root)
	return root
}
