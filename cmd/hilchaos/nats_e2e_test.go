package main

// The farm end to end: a real nats-server process (built from the module),
// two `hilchaos agent` processes each with two PTY boards, and a controller
// (`run --farm`) in-process. One agent is SIGKILLed mid-run and the server
// is restarted mid-campaign; every run is still stored exactly once.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
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
)

// natsServer is a nats-server child process with JetStream on file storage.
type natsServer struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

// buildNATSServer builds the nats-server binary of the module's version.
func buildNATSServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	require.NoError(t, err, "building nats-server: %s", out)
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *natsServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-js", "-sd", s.dir)
	var errb bytes.Buffer
	s.cmd.Stderr = &errb
	require.NoError(t, s.cmd.Start())
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }() //nolint:errcheck // seen through exited
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "nats-server did not listen: %s", errb.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down cleanly (SIGTERM), as a restart would.
func (s *natsServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // may be gone
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // last resort
		<-s.exited
	}
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// agentProc is a `hilchaos agent` child process.
type agentProc struct {
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"agent"}, args...)...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	a := &agentProc{cmd: cmd, log: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr, cmd.Stdout = a.log, a.log
	require.NoError(t, cmd.Start())
	go func() { cmd.Wait(); close(a.exited) }() //nolint:errcheck // seen through exited
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // may be gone
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // last resort
			<-a.exited
		}
	})
	return a
}

func runsLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for runsLines(path) < n {
		require.True(t, time.Now().Before(deadline), "fewer than %d records in %s", n, path)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFarmOverNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server and runs real-time boards")
	}
	t.Parallel()
	dir := t.TempDir()
	srv := &natsServer{bin: buildNATSServer(t), dir: filepath.Join(dir, "js"), port: freePort(t)}
	srv.start(t)
	t.Cleanup(srv.stop)

	// Two agents, two PTY boards each.
	var invs [2]string
	for a := range 2 {
		var inv strings.Builder
		inv.WriteString("rigs:\n")
		for r := range 2 {
			link := filepath.Join(dir, fmt.Sprintf("board-%d-%d", a, r))
			serve(t, "--pty", "--mutex", "inherit", "--link", link)
			fmt.Fprintf(&inv, "  - name: %c%d\n    target: serial://%s\n    labels: {board: pathfinder}\n", 'a'+a, r, link)
		}
		invs[a] = filepath.Join(dir, fmt.Sprintf("rigs-%d.yaml", a))
		require.NoError(t, os.WriteFile(invs[a], []byte(inv.String()), 0o644))
		warmUp(t, invs[a])
	}
	agentA := startAgent(t, "--nats", srv.url(), "--rigs", invs[0], "--name", "A", "--ack-wait", "2s")
	agentB := startAgent(t, "--nats", srv.url(), "--rigs", invs[1], "--name", "B", "--ack-wait", "2s")

	camp := shortCampaign(t, dir, 5*time.Second)
	out := filepath.Join(dir, "out")
	runs := filepath.Join(out, "runs.jsonl")
	done := runInBackground(t, "run", camp, "--farm", srv.url(), "--labels", "board=pathfinder", "--priority", "ci",
		"--duration", "1s", "--repeat", "12", "--ack-wait", "2s", "--out", out, "--format", "json")

	// Agent A dies mid-run: its runs in progress go to agent B.
	waitLines(t, runs, 2)
	require.Eventually(t, func() bool {
		return strings.Count(agentA.log.String(), ": run ") > strings.Count(agentA.log.String(), " done")
	},
		time.Minute, 10*time.Millisecond, "agent A has a run in progress")
	require.NoError(t, agentA.cmd.Process.Signal(syscall.SIGKILL))
	<-agentA.exited

	// The server restarts mid-campaign.
	waitLines(t, runs, 5)
	srv.stop()
	time.Sleep(500 * time.Millisecond)
	srv.start(t)

	r := done.wait(t, "the farm campaign did not finish")
	require.Equal(t, ExitOK, r.code, "stderr: %s\nagent A: %s\nagent B: %s", r.errs, agentA.log.String(), agentB.log.String())
	d := decodePool(t, r.out)
	require.Len(t, d.Runs, 12)
	b, err := os.ReadFile(runs)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	require.Len(t, lines, 12, "every run exactly once in runs.jsonl")
	rigs := map[string]int{}
	for i, l := range lines {
		var rec struct {
			Index   int    `json:"index"`
			Verdict string `json:"verdict"`
			Trace   string `json:"trace"`
			Rig     struct {
				Name string `json:"name"`
			} `json:"rig"`
		}
		require.NoError(t, json.Unmarshal(l, &rec))
		assert.Equal(t, i, rec.Index)
		assert.Equal(t, "pass", rec.Verdict)
		rigs[rec.Rig.Name]++
		require.NotEmpty(t, rec.Trace)
		assert.FileExists(t, filepath.Join(out, rec.Trace), "the trace came from the object store")
	}
	assert.Positive(t, rigs["b0"]+rigs["b1"])
	t.Logf("runs per rig: %v", rigs)
	assert.Contains(t, agentA.log.String(), "run ")
}
