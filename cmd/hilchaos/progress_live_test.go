package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/drive"
)

// syncBuffer is a bytes.Buffer safe for the display goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// onTerminal runs the CLI in-process as if stderr were a terminal (the
// progress bar) and returns the exit code and both outputs.
func onTerminal(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out bytes.Buffer
	var errb syncBuffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, isTerminal: true}
	root := a.rootCommand()
	typeUsageErrors(root)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return exitCode(err), out.String(), errb.String()
}

var liveLine = regexp.MustCompile(`run 1/1: board ([0-9.]+) (s|ms|µs) of 3\.000 s, (\d+) reset\(s\); 0 passed, 0 failed(, eta \S+)?`)

// TestLiveProgressOnRealTimeBoard: on a board that runs in real time
// (`firmware serve --pty`), the progress bar advances inside the run with
// the board's time, refreshed at least once a second: a 3 s run shows at
// least 3 distinct board times, increasing, reaching past 2 s.
func TestLiveProgressOnRealTimeBoard(t *testing.T) {
	t.Parallel()
	srv := serve(t, "--pty", "--mutex", "none")
	code, out, errs := onTerminal(t, "run", pathfinder, "--target", "serial://"+srv.path+"?baud=921600", "--duration", "3s", "--repeat", "1")
	require.Contains(t, []int{ExitOK, ExitFail}, code, "%s\n%s", out, errs)
	var times []float64
	for _, m := range liveLine.FindAllStringSubmatch(errs, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		switch m[2] {
		case "ms":
			v /= 1e3
		case "µs":
			v /= 1e6
		}
		if len(times) == 0 || times[len(times)-1] != v {
			times = append(times, v)
		}
	}
	require.GreaterOrEqual(t, len(times), 3, "the display moves inside the run: %q", errs)
	for i := 1; i < len(times); i++ {
		assert.Greater(t, times[i], times[i-1], "board time only advances: %v", times)
	}
	assert.Greater(t, times[len(times)-1], 2.0, "it follows the run to its end: %v", times)
}

// TestNoLiveProgressOnSim: the simulator's runs take no time worth
// watching: the display stays per run.
func TestNoLiveProgressOnSim(t *testing.T) {
	code, _, errs := onTerminal(t, "run", pathfinder, "--duration", "3s", "--repeat", "1")
	require.Equal(t, ExitFail, code, errs)
	assert.NotRegexp(t, `board [0-9.]+ \S+ of`, errs)
}

// TestLiveLine: what the display says, and its ETA from the wall time a
// board second has taken.
func TestLiveLine(t *testing.T) {
	l := newLiveProgress(nil, nil, "pathfinder", 4, 0)
	_, ok := l.line()
	assert.False(t, ok, "nothing between runs")
	l.finished(1, 4, &harness.RunRecord{Verdict: harness.Pass, DurationUS: 10_000_000})
	l.finished(2, 4, &harness.RunRecord{Verdict: harness.Fail, DurationUS: 10_000_000})
	l.cur, l.inRun = drive.Progress{RunUS: 4_000_000, DurationUS: 10_000_000, Resets: 2}, true
	line, ok := l.line()
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(line, "run 3/4: board 4.000 s of 10.000 s, 2 reset(s); 1 passed, 1 failed"), line)
	// 24 s of board time seen (two finished runs while watching, 4 s of
	// this one) took 48 s of wall time: the 16 s left take 32 s.
	l.boardDone = 20_000_000
	eta, ok := l.eta(48 * time.Second)
	require.True(t, ok)
	assert.Equal(t, 32*time.Second, eta)
	l.boardDone, l.cur.RunUS = 0, 0
	_, ok = l.eta(time.Second)
	assert.False(t, ok, "no ETA before any board time")
}

// TestLivePlainLines: without a terminal the display is a plain line at
// each refresh, and nothing between runs.
func TestLivePlainLines(t *testing.T) {
	var buf bytes.Buffer
	l := newLiveProgress(&buf, nil, "pathfinder", 2, 0)
	assert.Equal(t, plainEvery, l.every)
	l.show()
	assert.Empty(t, buf.String(), "nothing before the first tick")
	l.tick(drive.Progress{RunUS: 1_500_000, DurationUS: 60_000_000, Resets: 1})
	l.show()
	l.stop()
	assert.Regexp(t, `^run 1/2: board 1\.500 s of 60\.000 s, 1 reset\(s\); 0 passed, 0 failed, eta \S+\n$`, buf.String())
	l.finished(1, 2, &harness.RunRecord{Verdict: harness.Fail, DurationUS: 60_000_000})
	buf.Reset()
	l.show()
	assert.Empty(t, buf.String(), "nothing between runs")
}
