package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/targets/targettest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the hilchaos command once for the tests that need a real
// process (signals, kill -9).
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hilchaos-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "hilchaos")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// soakArgs is a repeated campaign long enough in wall time (about a second)
// to be caught in the middle.
var soakArgs = []string{"run", pathfinder, "--repeat", "10", "--duration", "5m", "--format", "json"}

func lines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return bytes.Count(b, []byte{'\n'})
}

// startAndWait starts the binary and waits until runs.jsonl in dir holds
// at least one complete record.
func startAndWait(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(binary(t), args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	log := filepath.Join(dir, harness.RunsFile)
	// A process that dies before its first record must fail the test,
	// not spin it until go test's own timeout.
	give := time.Now().Add(2 * time.Minute)
	for lines(t, log) < 1 {
		if time.Now().After(give) {
			cmd.Process.Kill() //nolint:errcheck // it may be gone
			_ = cmd.Wait()
			t.Fatalf("no run record in %s after 2 minutes: %v exited or hangs; stdout: %s", log, args, stdout.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cmd, &stdout
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// assertLogOnceEach checks that the log holds each of n runs exactly once.
func assertLogOnceEach(t *testing.T, dir string, n int) {
	recs, warns, err := harness.ReadRuns(dir)
	require.NoError(t, err)
	assert.Empty(t, warns)
	seen := map[harness.RunKey]int{}
	idx := map[int]bool{}
	for _, r := range recs {
		seen[r.Key()]++
		idx[r.Index] = true
	}
	assert.Len(t, recs, n, "one record per run")
	for k, c := range seen {
		assert.Equal(t, 1, c, "run %v stored %d times", k, c)
	}
	for i := 0; i < n; i++ {
		assert.True(t, idx[i], "run %d is in the log", i)
	}
}

// uninterrupted is the summary of the soak run in one go into its own
// results directory (records name their trace files relative to it).
func uninterrupted(t *testing.T) string {
	t.Helper()
	code, out, stderr := hilchaos(t, append(append([]string{}, soakArgs...), "--out", t.TempDir())...)
	require.Contains(t, []int{ExitOK, ExitFail}, code, stderr)
	return out
}

func TestKill9ThenResumeLosesNothingAndDuplicatesNothing(t *testing.T) {
	want := uninterrupted(t)

	dir := t.TempDir()
	args := append(append([]string{}, soakArgs...), "--out", dir)
	cmd, _ := startAndWait(t, dir, args...)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killedAt := lines(t, filepath.Join(dir, harness.RunsFile))
	require.Less(t, killedAt, 10, "the kill came before the campaign finished")
	t.Logf("killed with %d of 10 runs in the log", killedAt)

	// Without --resume the directory is refused: it would duplicate runs.
	code, _, stderr := hilchaos(t, args...)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, stderr, "--resume")

	code, got, stderr := hilchaos(t, append(args, "--resume")...)
	require.Contains(t, []int{ExitOK, ExitFail}, code, stderr)
	assert.Contains(t, stderr, "not run again")
	assertLogOnceEach(t, dir, 10)
	assert.Equal(t, want, got, "the resumed summary equals an uninterrupted run with the same seed")

	// Resuming a finished campaign runs nothing and adds nothing.
	code, again, _ := hilchaos(t, append(args, "--resume")...)
	require.Contains(t, []int{ExitOK, ExitFail}, code)
	assert.Equal(t, want, again)
	assertLogOnceEach(t, dir, 10)
}

func TestTornLastRecordIsDroppedOnResume(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", pathfinder, "--repeat", "3", "--duration", "5s", "--format", "json", "--out", dir}
	code, want, stderr := hilchaos(t, args...)
	require.Contains(t, []int{ExitOK, ExitFail}, code, stderr)
	log := filepath.Join(dir, harness.RunsFile)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	// Cut the last record in half, as kill -9 during its write would.
	last := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
	require.NoError(t, os.WriteFile(log, b[:last+(len(b)-last)/2], 0o644))

	code, got, stderr := hilchaos(t, append(args, "--resume")...)
	require.Contains(t, []int{ExitOK, ExitFail}, code, stderr)
	assert.Contains(t, stderr, "incomplete last record")
	assert.Equal(t, want, got)
	assertLogOnceEach(t, dir, 3)
}

func TestFirstSIGINTFinishesTheRunAndWritesTheSummary(t *testing.T) {
	dir := t.TempDir()
	args := append(append([]string{}, soakArgs...), "--out", dir)
	cmd, stdout := startAndWait(t, dir, args...)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	code := exitStatus(cmd.Wait())
	assert.Equal(t, ExitInterrupted, code)

	var sum harness.Summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum), stdout.String())
	assert.True(t, sum.Interrupted)
	n := lines(t, filepath.Join(dir, harness.RunsFile))
	require.Less(t, n, 10, "interrupted before the end")
	assert.Len(t, sum.Runs, n, "the summary covers exactly the stored runs: the run in progress finished and was stored")
	recs, warns, err := harness.ReadRuns(dir)
	require.NoError(t, err)
	assert.Empty(t, warns, "no torn record: the graceful stop waits for the run")
	for i, r := range recs {
		assert.Equal(t, i, r.Index)
	}

	code2, got, stderr := hilchaos(t, append(args, "--resume")...)
	require.Contains(t, []int{ExitOK, ExitFail}, code2, stderr)
	assert.Equal(t, uninterrupted(t), got)
	assertLogOnceEach(t, dir, 10)
	assert.False(t, strings.Contains(got, `"interrupted"`))
}

// The real binary, not TestMain's signal handling: the first SIGINT stops
// firmware serve with exit status 0, as its help says.
func TestServeStopsOnFirstSIGINT(t *testing.T) {
	cmd := exec.Command(binary(t), "firmware", "serve", "--listen", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	addr, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.NotEmpty(t, strings.TrimSpace(addr))
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		assert.Equal(t, 0, exitStatus(err))
	case <-time.After(targettest.Patience):
		cmd.Process.Kill() //nolint:errcheck // last resort
		<-exited
		t.Fatal("firmware serve ignored the first SIGINT")
	}
}
