package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
)

const breakingPoint = "../../campaigns/breaking-point.yaml"

func search(t *testing.T, args ...string) (harness.Summary, string) {
	t.Helper()
	code, out, stderr := hilchaos(t, append([]string{"run", breakingPoint, "--format", "json"}, args...)...)
	require.Equal(t, ExitOK, code, stderr)
	var sum harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.NotNil(t, sum.Sweep)
	return sum, out
}

func TestBreakingPointMarginsDifferAndReproduce(t *testing.T) {
	none, noneOut := search(t, "--target", "sim://pathfinder?mutex=none")
	inherit, inheritOut := search(t, "--target", "sim://pathfinder?mutex=inherit")
	for _, s := range []*harness.SweepResult{none.Sweep, inherit.Sweep} {
		require.NotEmpty(t, s.Breaking, "the search found a breaking value")
		require.NotEmpty(t, s.LastSafe, "and a value below it that holds")
		assert.Equal(t, "25ms", s.Nominal)
		assert.False(t, s.MarginBound)
	}
	t.Logf("mutex=none breaks at %s (margin %s), mutex=inherit at %s (margin %s)",
		none.Sweep.Breaking, none.Sweep.Margin, inherit.Sweep.Breaking, inherit.Sweep.Margin)
	assert.Less(t, none.Sweep.MarginNum, inherit.Sweep.MarginNum, "inheritance leaves more margin than the 1997 mutex")

	// Each is reproducible from its seed: the same command, the same bytes.
	_, again := search(t, "--target", "sim://pathfinder?mutex=none")
	assert.Equal(t, noneOut, again)
	_, again = search(t, "--target", "sim://pathfinder?mutex=inherit")
	assert.Equal(t, inheritOut, again)

	// Every probed value of a search shows the same run seeds.
	seeds := map[string][]uint64{}
	for _, r := range none.Runs {
		seeds[r.Sweep.Value] = append(seeds[r.Sweep.Value], r.Seed)
	}
	for v, s := range seeds {
		assert.Equal(t, []uint64{harness.RunSeed(1997, 0), harness.RunSeed(1997, 1), harness.RunSeed(1997, 2)}, s, v)
	}
}

// TestFailingSweepRunReproducesExactly runs the printed reproduce command
// of a failing breaking-point run and compares the records.
func TestFailingSweepRunReproducesExactly(t *testing.T) {
	code, table, _ := hilchaos(t, "run", breakingPoint)
	require.Equal(t, ExitOK, code)
	var line string
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, "reproduce: ") && strings.Contains(l, "--sweep-value") {
			line = strings.TrimSpace(strings.SplitN(l, "reproduce: ", 2)[1])
			break
		}
	}
	require.NotEmpty(t, line, "a failing run prints a reproduce line:\n%s", table)
	args := strings.Fields(strings.ReplaceAll(line, "'", ""))[1:] // drop "hilchaos"
	require.Equal(t, "run", args[0])

	sum, _ := search(t)
	code, out, stderr := hilchaos(t, append(args, "--format", "json")...)
	require.Equal(t, ExitFail, code, stderr)
	var one harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &one))
	require.Len(t, one.Runs, 1)
	got := one.Runs[0]
	found := false
	for _, r := range sum.Runs {
		if r.Index == got.Index {
			found = true
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(got)
			assert.JSONEq(t, string(a), string(b), "the reproduced run is the same run: %s", line)
		}
	}
	assert.True(t, found, "run index %d is one of the search's runs", got.Index)
}

func TestPlainSweepRunsEveryValue(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`name: sweep
target: sim://pathfinder?mutex=none
seed: 1997
faults:
  - name: hold
    kind: lock-hold
    task: asi_met
    lock: bus
    extra: 25ms
    schedule: {phase: {task: asi_met, offset: 0ms, cycles: 4}}
sweep: {fault: hold, param: extra, values: [0ms, 20ms, 40ms, 160ms]}
checks: [resets.watchdog == 0, bc_dist.max_response < 125ms]
`), 0o644))

	code, out, stderr := hilchaos(t, "run", path, "--repeat", "2", "--duration", "5s", "--format", "json")
	require.Equal(t, ExitFail, code, stderr)
	var sum harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Len(t, sum.Runs, 8, "4 values x 2 runs")
	for i, r := range sum.Runs {
		assert.Equal(t, i, r.Index)
		assert.Equal(t, harness.RunSeed(1997, i%2), r.Seed, "run r of every value has the same seed")
	}
	require.Len(t, sum.Sweep.Points, 4)
	assert.False(t, sum.Sweep.Points[0].Broke, "no extra hold: the board holds")
	assert.True(t, sum.Sweep.Points[3].Broke, "160 ms beyond the bus cycle breaks it")
	assert.Equal(t, 0, len(sum.Runs[0].Faults), "a 0 ms hold plans no firings")

	// --sweep-value with --run picks exactly one of them.
	code, out, _ = hilchaos(t, "run", path, "--repeat", "2", "--duration", "5s", "--format", "json", "--sweep-value", "40ms", "--run", "1")
	require.Contains(t, []int{ExitOK, ExitFail}, code)
	var one harness.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &one))
	require.Len(t, one.Runs, 1)
	a, _ := json.Marshal(sum.Runs[5])
	b, _ := json.Marshal(one.Runs[0])
	assert.JSONEq(t, string(a), string(b))
}
