package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinary runs the built hilchaos command and returns its exit status
// and stderr. The context bounds it: a command that outlives it is killed
// and the test fails.
func runBinary(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "hilchaos %v did not finish in time; stderr: %s", args, errb.String())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), errb.String()
	}
	require.NoError(t, err)
	return 0, errb.String()
}

// errorLine is the "hilchaos: ..." line of stderr.
func errorLine(t *testing.T, stderr string) string {
	t.Helper()
	for l := range strings.Lines(stderr) {
		if strings.HasPrefix(l, "hilchaos: ") {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no error line in stderr:\n%s", stderr)
	return ""
}

// TestUnopenableTargetsFailFast: a target that can never be opened (not a
// tty, a file the user may not open, a host name that does not exist)
// fails at once with exit 3, naming the target once and the cause, instead
// of retrying for the 30 s reconnect window. The 2 s bound is a liveness
// bound on the whole command, not a measurement.
func TestUnopenableTargetsFailFast(t *testing.T) {
	for target, causes := range map[string][]string{
		"serial:///dev/null": {"not a serial port"},
		// Root may open /etc/passwd read-write and finds it is no tty; an
		// ordinary user is refused.
		"serial:///etc/passwd":         {"not a serial port", "ermission denied"},
		"tcp://no-such-host.invalid:1": {"no such host"},
	} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			binary(t) // built before the clock starts
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			code, stderr := runBinary(t, ctx, "run", pathfinder, "--target", target, "--duration", "1s")
			assert.Equal(t, ExitInfra, code, stderr)
			line := errorLine(t, stderr)
			assert.Equal(t, 1, strings.Count(line, target), "the target is named once: %s", line)
			assert.True(t, strings.HasPrefix(line, "hilchaos: "+target+": "), "the target comes first: %s", line)
			found := false
			for _, c := range causes {
				found = found || strings.Contains(line, c)
			}
			assert.True(t, found, "the cause (one of %q) is named: %s", causes, line)
			assert.NotContains(t, line, "reconnect window", "nothing was waited for: %s", line)
			assert.NotContains(t, stderr, "pathfinder.yaml", "a target error does not blame the campaign file")
		})
	}
}

// TestTargetFlagHints: a bare device path or host:port given as --target
// is a usage error of the flag (not of the campaign file) and suggests the
// URL meant.
func TestTargetFlagHints(t *testing.T) {
	for target, want := range map[string]string{
		"/dev/ttyUSB0":   "serial:///dev/ttyUSB0",
		"localhost:3001": "tcp://localhost:3001",
		"sim://nowhere":  "unknown profile",
	} {
		code, _, stderr := hilchaos(t, "run", pathfinder, "--target", target)
		assert.Equal(t, ExitInvalid, code, "%s: %s", target, stderr)
		assert.Contains(t, stderr, "--target", target)
		assert.Contains(t, stderr, want, target)
		assert.NotContains(t, stderr, "pathfinder.yaml", "%s: the flag is wrong, not the campaign file", target)
	}
}

// TestUsageErrorsAreTyped: cobra's argument and flag errors reach exit 2
// through their type, for every command, including a misspelt subcommand
// of a group command (which cobra would answer with its help and exit 0).
func TestUsageErrorsAreTyped(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"campaign", "bogus"},
		{"firmware", "bogus"},
		{"run"},
		{"run", "a", "b"},
		{"run", pathfinder, "--bogus"},
		{"run", pathfinder, "-Z"},
		{"run", pathfinder, "--duration", "x"},
		{"run", pathfinder, "--duration"},
		{"gate", "extra"},
		{"ports", "extra"},
		{"report"},
	} {
		code, _, stderr := hilchaos(t, args...)
		assert.Equal(t, ExitInvalid, code, "%v: %s", args, stderr)
		assert.NotEmpty(t, stderr, "%v", args)
	}
	for _, args := range [][]string{{}, {"campaign"}, {"run", "--help"}} {
		code, _, stderr := hilchaos(t, args...)
		assert.Equal(t, ExitOK, code, "%v: %s", args, stderr)
	}
}

// TestNoRequiredFlags: cobra reports a missing required flag as an untyped
// error after argument checking, which would exit 3; commands check their
// flags in PreRunE instead.
func TestNoRequiredFlags(t *testing.T) {
	a := &app{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			_, req := f.Annotations[cobra.BashCompOneRequiredFlag]
			assert.False(t, req, "%s --%s is marked required", c.CommandPath(), f.Name)
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(a.rootCommand())
}
