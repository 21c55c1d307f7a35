package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/targets"
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

// errFailed is returned when a run completed and a check failed.
var errFailed = errors.New("checks failed")

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *exitError
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
	case errors.As(err, &inv), errors.As(err, &ue), errors.As(err, &refused):
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
