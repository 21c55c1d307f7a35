package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildCLI builds the real hilchaos binary (its own main, signal handling
// included) into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hilchaos")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// rssKiB reads a process's resident set from /proc.
func rssKiB(t *testing.T, pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// A million-hour run starts at once (its plan is generated as it goes),
// keeps its memory flat, and one SIGINT or SIGTERM stops it: exit 130, the
// summary saying INTERRUPTED, the cut-short run named as such.
func TestMillionHourRunStopsOnOneSignal(t *testing.T) {
	bin := buildCLI(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "run", pathfinder, "--duration", "1000000h", "--repeat", "2", "--parallel", "1") // one run in progress to cut short
			var stdout strings.Builder
			cmd.Stdout = &stdout
			errPipe, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // may be gone
			lines := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(errPipe)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var stderr []string
			select {
			case l := <-lines:
				stderr = append(stderr, l)
				require.Contains(t, l, "started, 1000000h0m0s of board time")
			case <-time.After(30 * time.Second):
				t.Fatal("no progress line: the first run did not start")
			}
			// Memory stays flat while the run goes: sample it twice.
			time.Sleep(time.Second)
			first := rssKiB(t, cmd.Process.Pid)
			time.Sleep(2 * time.Second)
			second := rssKiB(t, cmd.Process.Pid)
			assert.Less(t, second, 200*1024, "resident memory after 3 s: %d KiB", second)
			assert.Less(t, second-first, 50*1024, "memory grew from %d to %d KiB in 2 s", first, second)

			require.NoError(t, cmd.Process.Signal(sig))
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("one %v did not stop the run", sig)
			}
			for l := range lines {
				stderr = append(stderr, l)
			}
			require.Equal(t, ExitInterrupted, cmd.ProcessState.ExitCode(), "stderr: %s", strings.Join(stderr, "\n"))
			assert.Contains(t, stdout.String(), "INTERRUPTED: 0 of 2 runs, 0 passed, 0 failed, 0 errors, 1 cut short")
			assert.Contains(t, stdout.String(), "run 0 interrupted:")
			assert.Contains(t, strings.Join(stderr, "\n"), "index 0 seed 9804167865927158697: interrupted")
		})
	}
}

// Values beyond the documented limits are refused by lint and run alike.
func TestLimitsRefused(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.yaml")
	require.NoError(t, os.WriteFile(huge, []byte("name: huge\nrepeat: 1000000000\n"), 0o644))
	code, out, errs := hilchaos(t, "campaign", "lint", huge)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, out+errs, "repeat: plans 1000000000 runs, beyond the limit of 100000 runs per campaign")
	code, _, errs = hilchaos(t, "run", huge)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "repeat: plans 1000000000 runs")
	code, _, errs = hilchaos(t, "run", pathfinder, "--repeat", "1000000000")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "--repeat: plans 1000000000 runs")
	code, _, errs = hilchaos(t, "run", pathfinder, "--duration", "1000001h")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "--duration: 1000001h0m0s is beyond the limit of 1000000h0m0s")
}
