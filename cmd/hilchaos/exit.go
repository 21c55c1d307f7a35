package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/serial"
	"github.com/hilchaos/hilchaos/targets/sim"
	"github.com/hilchaos/hilchaos/targets/tcp"
)

// Exit codes, the same for every command.
const (
	ExitOK      = 0 // every check passed
	ExitFail    = 1 // a check failed: the firmware (or candidate) is worse than allowed
	ExitInvalid = 2 // invalid input or usage: nothing ran
	ExitInfra   = 3 // infrastructure error: target unreachable, port gone, disk full
)

const exitStatusHelp = `
EXIT STATUS
  0  every check passed
  1  a check failed (a firmware failure, not a rig failure)
  2  invalid input or usage: a campaign, flag or URL is wrong; nothing ran
  3  infrastructure error: the target was unreachable or went away, the
     results could not be written`

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageError is cobra refusing the command line (an unknown command or
// flag, a wrong number of arguments, a flag value that does not parse),
// typed where cobra raises it, so no message text is ever matched.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// typeUsageErrors makes every command in the tree under root return its
// argument and flag errors as *usageError: flag errors through cobra's
// FlagErrorFunc (inherited by every subcommand), argument errors by wrapping
// each command's Args validator. A command without one gets cobra's default
// rule made explicit: a command with subcommands takes no arguments of its
// own (so a misspelt subcommand is an error, not a help page and exit 0).
func typeUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		args := c.Args
		if args == nil && c.HasSubCommands() {
			args = func(c *cobra.Command, a []string) error {
				if len(a) > 0 {
					return fmt.Errorf("unknown command %q for %q (see %s --help)", a[0], c.CommandPath(), c.CommandPath())
				}
				return nil
			}
			if !c.Runnable() {
				// cobra checks arguments only of a runnable command; a
				// group command shows its help when called alone.
				c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
			}
		}
		if args != nil {
			c.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return &usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// errFailed is returned when a run completed and a check failed.
var errFailed = errors.New("checks failed")

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *exitError
	var usage *usageError
	var inv *harness.InvalidError
	var ue *targets.URLError
	var infra *harness.InfraError
	var refused *harness.RefusedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errFailed):
		return ExitFail
	case errors.As(err, &usage), errors.As(err, &inv), errors.As(err, &ue), errors.As(err, &refused):
		return ExitInvalid
	case errors.As(err, &infra), errors.Is(err, targets.ErrUnreachable):
		return ExitInfra
	case errors.Is(err, context.Canceled):
		return ExitInterrupted // a second SIGINT or SIGTERM aborted the run in progress
	}
	return ExitInfra
}

func printError(w io.Writer, err error) {
	if err == nil || errors.Is(err, errFailed) {
		return
	}
	fmt.Fprintf(w, "hilchaos: %v\n", err)
}

// checkTargetFlag checks a --target URL before the campaign is loaded, so
// a wrong URL on the command line is reported as the flag's, never as the
// campaign file's.
func checkTargetFlag(raw string) error {
	if raw == "" {
		return nil
	}
	u, _, err := targets.Parse(raw)
	if err == nil {
		switch u.Scheme {
		case "sim":
			_, err = sim.ParseURL(u)
		case "serial":
			_, err = serial.ParseURL(u)
		case "tcp":
			_, err = tcp.ParseURL(u)
		}
	}
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("--target: %w", err))
	}
	return nil
}
