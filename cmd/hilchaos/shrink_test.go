package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/hilchaos/hilchaos/harness/shrink"
)

// trialLog reads DIR/shrink/trials.jsonl: the trials in order.
func trialLog(t *testing.T, dir string) []shrink.Entry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "shrink", shrink.LogFile))
	require.NoError(t, err)
	defer f.Close()
	var out []shrink.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e shrink.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	return out
}

// noRepeats fails when a (candidate, repetition) appears twice in the log.
func noRepeats(t *testing.T, log []shrink.Entry) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range log {
		k := fmt.Sprintf("%s/%d", e.Key, e.Rep)
		assert.False(t, seen[k], "trial %s is in the log twice", k)
		seen[k] = true
	}
}

// TestShrinkPathfinder is the must-show: each failing 60 s run of
// campaigns/pathfinder.yaml on the 1997 firmware shrinks to at most 2
// firings in at most 200 trials; the shrunk campaign lints, fails on 10
// seeds out of 10 on mutex=none and passes on mutex=inherit.
func TestShrinkPathfinder(t *testing.T) {
	for _, run := range []int{0, 1, 2} {
		t.Run(fmt.Sprint("run", run), func(t *testing.T) {
			dir := t.TempDir()
			start := time.Now()
			code, out, errs := hilchaos(t, "shrink", pathfinder, "--run", fmt.Sprint(run), "--out", dir)
			wall := time.Since(start)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
			log := trialLog(t, dir)
			noRepeats(t, log)
			assert.LessOrEqual(t, len(log), 200)
			assert.Contains(t, errs, "shrink ddmin", "progress lines on stderr")

			shrunk := filepath.Join(dir, "shrink", "shrunk.yaml")
			code, lint, _ := hilchaos(t, "campaign", "lint", shrunk)
			require.Equal(t, 0, code, lint)
			c, err := harness.LoadCampaign(shrunk, harness.Overrides{})
			require.NoError(t, err)
			p := harness.PlanRun(c, run)
			firings := p.Firings(nil).All() // explicit times: no table needed
			assert.LessOrEqual(t, len(firings), 2)
			assert.NotEmpty(t, firings)
			t.Logf("run %d: 120 firings -> %d in %v of board time; %d trials, wall %v", run, len(firings), c.Duration, len(log), wall.Round(time.Millisecond))

			// The report: before and after, trials, the reference's verdict.
			report, err := os.ReadFile(filepath.Join(dir, "shrink", "REPORT.md"))
			require.NoError(t, err)
			assert.Equal(t, string(report), out)
			assert.Contains(t, out, "## Schedule before")
			assert.Contains(t, out, fmt.Sprintf("trials: %d", len(log)))
			assert.Contains(t, out, "on the reference `sim://pathfinder?mutex=inherit`: **pass**")
			assert.Contains(t, out, fmt.Sprintf("hilchaos run %s --run %d", shrunk, run))

			// The one command that reproduces it.
			code, _, _ = hilchaos(t, "run", shrunk, "--run", fmt.Sprint(run))
			assert.Equal(t, 1, code)
			// Ten other seeds: the firing times are explicit, only the
			// board's execution times change.
			for seed := 1; seed <= 10; seed++ {
				code, _, _ := hilchaos(t, "run", shrunk, "--seed", fmt.Sprint(seed))
				assert.Equal(t, 1, code, "seed %d: the shrunk campaign must fail on mutex=none", seed)
				code, _, _ = hilchaos(t, "run", shrunk, "--seed", fmt.Sprint(seed), "--target", "sim://pathfinder?mutex=inherit")
				assert.Equal(t, 0, code, "seed %d: the shrunk campaign must pass with the fix", seed)
			}
		})
	}
}

func TestShrinkPassingRunExits2(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := hilchaos(t, "shrink", pathfinder, "--run", "0", "--out", dir, "--target", "sim://pathfinder?mutex=inherit")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "nothing to shrink: run 0 passed")
	_, err := os.Stat(filepath.Join(dir, "shrink"))
	assert.True(t, os.IsNotExist(err), "nothing written under shrink/")
}

func TestShrinkUsage(t *testing.T) {
	code, _, errs := hilchaos(t, "shrink", pathfinder)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "--run N is required")
	code, _, errs = hilchaos(t, "shrink", pathfinder, "--run", "0", "--trials", "best-of-3", "--out", t.TempDir())
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "--trials")
	code, _, errs = hilchaos(t, "shrink", filepath.Join(t.TempDir(), "nope"), "--run", "0")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "nope")
}

// TestShrinkFromResultsDir: a results directory from run --out, whose
// campaign is found by its content hash (or given with --campaign).
func TestShrinkFromResultsDir(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := hilchaos(t, "run", pathfinder, "--repeat", "1", "--out", dir)
	require.Equal(t, 1, code, errs)

	code, _, errs = hilchaos(t, "shrink", dir, "--run", "0")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "--campaign FILE")

	code, _, errs = hilchaos(t, "shrink", dir, "--run", "5", "--campaign", pathfinder)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "no record of run 5")

	data, err := os.ReadFile(pathfinder)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pathfinder.yaml"), data, 0o644))
	code, out, errs := hilchaos(t, "shrink", dir, "--run", "0")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "reset:watchdog blocked=bc_dist@bus")
	assert.Contains(t, out, "**pass**")
}

// cancelAfter is a stderr that cancels the CLI's context once it has
// printed n progress lines (n trials).
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Count(c.buf.String(), "\nshrink ") >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// TestShrinkResumeCLI interrupts the shrink after k trials and runs the
// same command again: it ends with the same shrunk campaign and report
// figures as an uninterrupted shrink, and no trial is in the log twice.
func TestShrinkResumeCLI(t *testing.T) {
	whole := t.TempDir()
	code, wantOut, errs := hilchaos(t, "shrink", pathfinder, "--run", "0", "--out", whole)
	require.Equal(t, 0, code, errs)
	wantLog := trialLog(t, whole)
	wantYAML, err := os.ReadFile(filepath.Join(whole, "shrink", "shrunk.yaml"))
	require.NoError(t, err)

	for _, k := range []int{3, 25, len(wantLog) - 2} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stderr := &cancelAfter{n: k, cancel: cancel}
			var out bytes.Buffer
			code := Main(ctx, []string{"shrink", pathfinder, "--run", "0", "--out", dir}, strings.NewReader(""), &out, stderr)
			require.Equal(t, ExitInterrupted, code, stderr.buf.String())
			assert.Contains(t, stderr.buf.String(), "run the same command again")
			before := len(trialLog(t, dir))
			assert.GreaterOrEqual(t, before, k-1)
			assert.Less(t, before, len(wantLog))

			code, gotOut, errs := hilchaos(t, "shrink", pathfinder, "--run", "0", "--out", dir)
			require.Equal(t, 0, code, errs)
			assert.Contains(t, errs, fmt.Sprintf("resuming: %d trial(s)", before))
			log := trialLog(t, dir)
			noRepeats(t, log)
			assert.Equal(t, len(wantLog), len(log))
			gotYAML, err := os.ReadFile(filepath.Join(dir, "shrink", "shrunk.yaml"))
			require.NoError(t, err)
			assert.Equal(t, string(wantYAML), strings.ReplaceAll(string(gotYAML), dir, whole))
			assert.Contains(t, gotOut, fmt.Sprintf("trials: %d (%d run now, %d from the log)", len(wantLog), len(wantLog)-before, before))
			assert.Equal(t, section(wantOut, "## Schedule after"), section(strings.ReplaceAll(gotOut, dir, whole), "## Schedule after"))
		})
	}
}

// section is the report from heading on.
func section(s, heading string) string {
	if i := strings.Index(s, heading); i >= 0 {
		return s[i:]
	}
	return ""
}

// TestShrinkKill9ThenResume kills the shrink process with SIGKILL mid-way
// (a crash, a power cut) and runs the same command again: same result,
// no trial in the log twice.
func TestShrinkKill9ThenResume(t *testing.T) {
	whole := t.TempDir()
	code, _, errs := hilchaos(t, "shrink", pathfinder, "--run", "1", "--out", whole)
	require.Equal(t, 0, code, errs)
	wantLog := trialLog(t, whole)
	wantYAML, err := os.ReadFile(filepath.Join(whole, "shrink", "shrunk.yaml"))
	require.NoError(t, err)

	dir := t.TempDir()
	cmd := exec.Command(binary(t), "shrink", pathfinder, "--run", "1", "--out", dir)
	require.NoError(t, cmd.Start())
	logPath := filepath.Join(dir, "shrink", shrink.LogFile)
	give := time.Now().Add(2 * time.Minute)
	for lines(t, logPath) < 15 {
		if time.Now().After(give) {
			cmd.Process.Kill() //nolint:errcheck // it may be gone
			_ = cmd.Wait()
			t.Fatalf("no 15 trials in %s after 2 minutes", logPath)
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killedAt := lines(t, logPath)
	require.Less(t, killedAt, len(wantLog), "the kill came before the shrink finished")
	t.Logf("killed with %d of %d trials in the log", killedAt, len(wantLog))

	code, out, errs := hilchaos(t, "shrink", pathfinder, "--run", "1", "--out", dir)
	require.Equal(t, 0, code, errs)
	log := trialLog(t, dir)
	noRepeats(t, log)
	assert.Equal(t, len(wantLog), len(log))
	gotYAML, err := os.ReadFile(filepath.Join(dir, "shrink", "shrunk.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(wantYAML), strings.ReplaceAll(string(gotYAML), dir, whole))
	assert.Contains(t, out, fmt.Sprintf("%d from the log", killedAt))
}

// TestShrinkBudget: the trial budget stops the shrink; what it found so
// far is written, marked as not minimal, and still fails.
func TestShrinkBudget(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := hilchaos(t, "shrink", pathfinder, "--run", "0", "--out", dir, "--budget-trials", "5")
	require.Equal(t, 0, code, errs)
	assert.Len(t, trialLog(t, dir), 5)
	assert.Contains(t, errs, "shrink budget used up after 5 trials")
	assert.Contains(t, out, "the budget ended the shrink early")
	assert.Contains(t, errs, "(0 left)")
	shrunk := filepath.Join(dir, "shrink", "shrunk.yaml")
	data, err := os.ReadFile(shrunk)
	require.NoError(t, err)
	assert.Contains(t, string(data), "not minimal")
	code, _, _ = hilchaos(t, "run", shrunk, "--run", "0")
	assert.Equal(t, 1, code)
}

// TestShrinkReferenceFailsToo: when the campaign's checks are stricter
// than the reference firmware meets, the report says loudly that the
// failure is not the firmware's.
func TestShrinkReferenceFailsToo(t *testing.T) {
	data, err := os.ReadFile(pathfinder)
	require.NoError(t, err)
	text := string(data)
	i := strings.Index(text, "\nchecks:")
	require.Positive(t, i)
	strict := text[:i] + "\nchecks:\n  - resets.watchdog == 0\n  - bc_dist.max_response < 3ms\n"
	path := filepath.Join(t.TempDir(), "strict.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strict), 0o644))
	code, out, errs := hilchaos(t, "shrink", path, "--run", "0", "--out", t.TempDir())
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "on the reference `sim://pathfinder?mutex=inherit`: **fail**")
	assert.Contains(t, out, "WARNING: the reference firmware fails the shrunk campaign too")
	assert.Contains(t, errs, "WARNING: the reference firmware fails")
}
