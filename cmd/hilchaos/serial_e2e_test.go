package main

// End-to-end tests of the serial path: `hilchaos firmware serve` runs in a
// child process (this test binary, re-executed as the CLI) on a real
// pseudo-terminal; `hilchaos run` drives it in-process through
// go.bug.st/serial, or through Debian's ser2net over TCP. Each run takes
// its board duration in real time, so they run in parallel.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/targettest"
)

// execEnv makes the test binary behave as the hilchaos command.
const execEnv = "HILCHAOS_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// server is a `hilchaos firmware serve` child process.
type server struct {
	cmd    *exec.Cmd
	path   string // first stdout line: the PTY (or address)
	exited chan struct{}
	stderr *strings.Builder
}

// serve starts `hilchaos firmware serve args...` and waits for its first line.
func serve(t testing.TB, args ...string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"firmware", "serve"}, args...)...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	s := &server{cmd: cmd, exited: make(chan struct{}), stderr: &strings.Builder{}}
	cmd.Stderr = s.stderr
	require.NoError(t, cmd.Start())
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
		}
	}()
	go func() { cmd.Wait(); close(s.exited) }() //nolint:errcheck // seen through exited
	t.Cleanup(func() { s.stop(t) })
	select {
	case p, ok := <-first:
		require.True(t, ok, "firmware serve printed nothing: %s", s.stderr)
		s.path = p
	case <-time.After(targettest.Patience):
		t.Fatal("firmware serve did not print its PTY path")
	}
	return s
}

// stop ends the server with SIGTERM; it must exit 0.
func (s *server) stop(t testing.TB) {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	select {
	case <-s.exited:
		assert.Equal(t, 0, s.cmd.ProcessState.ExitCode(), "firmware serve exit status after SIGTERM; stderr: %s", s.stderr)
	case <-time.After(targettest.Patience):
		s.cmd.Process.Kill() //nolint:errcheck // last resort
		<-s.exited
		t.Error("firmware serve ignored SIGTERM")
	}
}

// kill ends the server with SIGKILL, as a crash or a pulled cable would.
func (s *server) kill() {
	s.cmd.Process.Kill() //nolint:errcheck // it may be gone
	<-s.exited
}

// linkDoc is the part of a run document about the link.
type linkDoc struct {
	Runs []struct {
		Verdict string `json:"verdict"`
		Error   string `json:"error"`
		Resets  struct {
			Watchdog int `json:"watchdog"`
			PowerOn  int `json:"power_on"`
			Hang     int `json:"hang"`
		} `json:"resets"`
		Link *struct {
			Gaps []struct {
				DurationMS float64 `json:"duration_ms"`
				Cause      string  `json:"cause"`
			} `json:"gaps"`
			Clock *struct {
				Frames   uint64  `json:"frames"`
				DriftPPM float64 `json:"drift_ppm"`
			} `json:"clock"`
		} `json:"link"`
	} `json:"runs"`
}

func decodeLink(t *testing.T, s string) linkDoc {
	t.Helper()
	var d linkDoc
	require.NoError(t, json.Unmarshal([]byte(s), &d), s)
	return d
}

// result is what an in-process hilchaos invocation returned.
type result struct {
	code      int
	out, errs string
}

// background is an in-process hilchaos invocation still running.
type background chan result

// runInBackground starts hilchaos args... in-process and returns at once.
func runInBackground(t *testing.T, args ...string) background {
	done := make(background, 1)
	go func() {
		code, out, errs := hilchaos(t, args...)
		done <- result{code, out, errs}
	}()
	return done
}

// wait returns the invocation's result, failing with hang if it takes
// more than two minutes.
func (b background) wait(t *testing.T, hang string) result {
	t.Helper()
	select {
	case r := <-b:
		return r
	case <-time.After(2 * time.Minute):
		t.Fatal(hang)
		return result{}
	}
}

// TestServeAndRun is the end-to-end check: the campaign over a
// real PTY and over ser2net exits as it does on the simulator for the
// same seed, run by run, with the watchdog resets counted.
func TestServeAndRun(t *testing.T) {
	for _, mutex := range []string{"none", "inherit"} {
		// The simulator's verdict for the same campaign, seed and duration.
		args := []string{"run", pathfinder, "--duration", "10s", "--repeat", "1", "--format", "json"}
		simCode, simOut, simErr := hilchaos(t, append(args, "--target", "sim://pathfinder?mutex="+mutex)...)
		require.Contains(t, []int{ExitOK, ExitFail}, simCode, simErr)
		sim := decode(t, simOut)
		if mutex == "inherit" {
			require.Equal(t, ExitOK, simCode, "the fixed firmware passes on the simulator")
		} else if simCode != ExitFail {
			t.Logf("note: on the simulator the 1997 configuration does not reset for this seed yet (exit %d); the serial runs are held to the simulator's verdict", simCode)
		}
		for _, via := range []string{"serial", "tcp"} {
			t.Run(via+"/"+mutex, func(t *testing.T) {
				t.Parallel()
				srv := serve(t, "--pty", "--mutex", mutex)
				target := "serial://" + srv.path + "?baud=921600"
				if via == "tcp" {
					target = "tcp://" + targettest.Ser2net(t, srv.path)
				}
				code, out, errs := hilchaos(t, append(args, "--target", target)...)
				require.Equal(t, simCode, code, "exit status over %s vs the simulator's; stderr: %s\n%s", via, errs, out)
				got, doc := decode(t, out), decodeLink(t, out)
				require.Len(t, got.Runs, len(sim.Runs))
				for i := range got.Runs {
					assert.Equal(t, sim.Runs[i].Verdict, got.Runs[i].Verdict, "run %d verdict", i)
					assert.Equal(t, sim.Runs[i].Resets.Watchdog > 0, got.Runs[i].Resets.Watchdog > 0,
						"run %d: watchdog resets over %s %d, on the simulator %d", i, via, got.Runs[i].Resets.Watchdog, sim.Runs[i].Resets.Watchdog)
					assert.Zero(t, got.Runs[i].Resets.Hang, "run %d: no hang", i)
					if simCode == ExitFail {
						assert.Positive(t, got.Runs[i].Resets.Watchdog, "run %d: the 1997 configuration resets", i)
					}
					l := doc.Runs[i].Link
					require.NotNil(t, l, "a real link is described in the record")
					assert.Empty(t, l.Gaps)
					require.NotNil(t, l.Clock, "board and host clocks are compared")
					assert.Positive(t, l.Clock.Frames)
				}
			})
		}
	}
}

// TestKilledServerComesBack kills the board's server mid-run and starts a
// new one on the same --link path: the harness reconnects, records the
// gap and sees the new board's power-on.
func TestKilledServerComesBack(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "board")
	a := serve(t, "--pty", "--mutex", "inherit", "--link", link)
	done := runInBackground(t, "run", pathfinder, "--target", "serial://"+link, "--duration", "6s", "--repeat", "1", "--format", "json")
	time.Sleep(2 * time.Second) // mid-run (sequencing only: nothing is measured)
	a.kill()
	time.Sleep(200 * time.Millisecond) // the port is gone for a while
	serve(t, "--pty", "--mutex", "inherit", "--link", link)
	r := done.wait(t, "the run hangs after the server was killed")
	require.NotEqual(t, ExitInfra, r.code, "the board came back within the reconnect window; stderr: %s", r.errs)
	require.Contains(t, []int{ExitOK, ExitFail}, r.code, r.errs)
	d := decodeLink(t, r.out)
	require.Len(t, d.Runs, 1)
	run := d.Runs[0]
	require.NotNil(t, run.Link)
	require.NotEmpty(t, run.Link.Gaps, "the gap is recorded")
	assert.Positive(t, run.Link.Gaps[0].DurationMS)
	assert.NotEmpty(t, run.Link.Gaps[0].Cause)
	assert.Positive(t, run.Resets.PowerOn, "the restarted board's power-on is seen as a reset")
}

// TestKilledServerNeverComesBack: the board goes away for good. The run
// ends with an infrastructure error (exit 3) once the campaign's reconnect
// window has passed: not a hang, not a panic, not a firmware failure.
func TestKilledServerNeverComesBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	campaign := filepath.Join(dir, "pathfinder.yaml")
	b, err := os.ReadFile(pathfinder)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(campaign, append(b, "\ntimeouts:\n  reconnect: 2s\n"...), 0o644))
	link := filepath.Join(dir, "board")
	a := serve(t, "--pty", "--mutex", "inherit", "--link", link)
	done := runInBackground(t, "run", campaign, "--target", "serial://"+link, "--duration", "10s", "--repeat", "1", "--format", "json")
	time.Sleep(2 * time.Second)
	os.Remove(link) // the device node goes with the board
	a.kill()
	r := done.wait(t, "the run hangs after the board went away")
	require.Equal(t, ExitInfra, r.code, "stderr: %s", r.errs)
	assert.Contains(t, r.errs, "not back within the reconnect window of 2s")
	assert.Contains(t, r.errs, "target unreachable")
	assert.NotContains(t, r.errs, "panic")
	d := decodeLink(t, r.out)
	require.Len(t, d.Runs, 1)
	assert.Equal(t, "error", d.Runs[0].Verdict)
}

// TestSilentBoardIsAHang: a board that stops talking mid-run (the server's
// test mode freezes it until a reset command) is counted as a hang, apart
// from watchdog resets, and the run goes on after the reset.
func TestSilentBoardIsAHang(t *testing.T) {
	t.Parallel()
	srv := serve(t, "--pty", "--mutex", "inherit", "--freeze-after", "2s")
	code, out, errs := hilchaos(t, "run", pathfinder, "--target", "serial://"+srv.path, "--duration", "5s", "--repeat", "1", "--format", "json")
	require.Contains(t, []int{ExitOK, ExitFail}, code, "stderr: %s\n%s", errs, out)
	d := decodeLink(t, out)
	require.Len(t, d.Runs, 1)
	assert.Equal(t, 1, d.Runs[0].Resets.Hang, "the silence is one hang")
	assert.Zero(t, d.Runs[0].Resets.Watchdog, "a hang is not a watchdog reset")
}
