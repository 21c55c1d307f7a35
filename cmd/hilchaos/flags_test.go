package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
)

// Values given on the command line or in HILCHAOS_* that can only be
// mistakes are refused, naming the flag or the variable; nothing runs.
func TestZeroAndNegativeFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  [2]string
		want string
	}{
		{args: []string{"--duration", "0"}, want: `--duration "0s": must be positive`},
		{args: []string{"--duration", "-5s"}, want: `--duration "-5s": must be positive`},
		{args: []string{"--repeat", "0"}, want: `--repeat "0": must be positive`},
		{args: []string{"--repeat", "-2"}, want: `--repeat "-2": must be positive`},
		{args: []string{"--run", "-5"}, want: `--run "-5": must not be negative`},
		{args: []string{"--target", ""}, want: `--target "": must not be empty`},
		{args: []string{"--out", ""}, want: `--out "": must not be empty`},
		{env: [2]string{"HILCHAOS_DURATION", "0s"}, want: `HILCHAOS_DURATION="0s" (for --duration): must be positive`},
		{env: [2]string{"HILCHAOS_REPEAT", "0"}, want: `HILCHAOS_REPEAT="0" (for --repeat): must be positive`},
		{env: [2]string{"HILCHAOS_TARGET", ""}, want: `HILCHAOS_TARGET="" (for --target): must not be empty`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			code, out, errs := hilchaos(t, append([]string{"run", pathfinder}, tc.args...)...)
			assert.Equal(t, ExitInvalid, code, "stdout: %s", out)
			assert.Contains(t, errs, tc.want)
			assert.Empty(t, out, "nothing ran")
		})
	}
	// The flag's own default is not a value given.
	code, _, errs := hilchaos(t, "run", pathfinder, "--repeat", "1", "--duration", "1s")
	assert.NotEqual(t, ExitInvalid, code, errs)
	assert.NotContains(t, errs, "must be positive")
}

// --version names the harness version, the Go version and the revision.
func TestVersion(t *testing.T) {
	code, out, errs := hilchaos(t, "--version")
	require.Equal(t, ExitOK, code, errs)
	assert.Contains(t, out, "hilchaos "+harness.Version+"\n")
	assert.Contains(t, out, runtime.Version())
	assert.Contains(t, out, "revision ")
	info := &debug.BuildInfo{GoVersion: "go1.99", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-01T12:00:00Z"}}}
	txt := versionText(info, true)
	assert.Contains(t, txt, "go1.99")
	assert.Contains(t, txt, "revision 0123abcd (modified), committed 2026-12-01T12:00:00Z")
}

// Completion offers campaign files, --format values and target schemes.
func TestCompletion(t *testing.T) {
	complete := func(args ...string) []string {
		code, out, errs := hilchaos(t, append([]string{"__complete"}, args...)...)
		require.Equal(t, ExitOK, code, errs)
		return strings.Split(strings.TrimSpace(out), "\n")
	}
	assert.Equal(t, []string{"table", "json", ":4"}, complete("run", "--format", ""))
	assert.Equal(t, []string{"table", "json", "markdown", ":4"}, complete("gate", "--format", ""))
	assert.Equal(t, []string{"yaml", "yml", "toml", "json", ":8"}, complete("run", ""), "campaign files by extension")
	assert.Equal(t, []string{"yaml", "yml", "toml", "json", ":8"}, complete("campaign", "lint", ""))
	tg := complete("run", "--target", "sim")
	assert.Equal(t, []string{"sim://pathfinder?mutex=none", "sim://pathfinder?mutex=inherit", "sim://pathfinder?mutex=ceiling", "sim:///", ":6"}, tg)
	all := strings.Join(complete("run", "--target", ""), " ")
	for _, scheme := range []string{"sim://", "serial://", "tcp://"} {
		assert.Contains(t, all, scheme)
	}
	code, out, _ := hilchaos(t, "completion", "bash")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "bash completion")
}

// A panic is an internal error (exit 3), never the 2 of invalid input.
func TestCrashIsNotInvalidInput(t *testing.T) {
	var b strings.Builder
	code := guarded(&b, func() int { panic("boom") })
	assert.Equal(t, ExitInfra, code)
	assert.Contains(t, b.String(), "internal error (a bug in hilchaos")
	assert.Contains(t, b.String(), "boom")
	assert.Equal(t, ExitFail, guarded(&b, func() int { return ExitFail }))
}
