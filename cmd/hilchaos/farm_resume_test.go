package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A controller that dies resumes from the results stream: with the agents
// gone, `run --farm --resume` writes the records missing from runs.jsonl
// from what the agents published, each once, and the document is the one
// the first invocation printed.
func TestFarmResumeFromResultsStream(t *testing.T) {
	t.Parallel()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	defer srv.Shutdown()
	url := srv.ClientURL()

	dir := t.TempDir()
	inv := filepath.Join(dir, "rigs.yaml")
	require.NoError(t, os.WriteFile(inv, []byte(`rigs:
  - name: s0
    target: sim://pathfinder?mutex=inherit
    labels: {board: sim}
  - name: s1
    target: sim://pathfinder?mutex=inherit&baud=921600
    labels: {board: sim}
`), 0o644))
	ctx, stopAgent := context.WithCancel(context.Background())
	var agentLog bytes.Buffer
	agentDone := make(chan int, 1)
	go func() {
		agentDone <- Main(ctx, []string{"agent", "--nats", url, "--rigs", inv, "--name", "sims"}, strings.NewReader(""), &agentLog, &agentLog)
	}()

	out := filepath.Join(dir, "out")
	args := []string{"run", pathfinder, "--farm", url, "--labels", "board=sim", "--duration", "2s", "--repeat", "6", "--out", out, "--format", "json"}
	code, first, errs := hilchaos(t, args...)
	require.Equal(t, ExitOK, code, "stderr: %s\nagent: %s", errs, agentLog.String())
	stopAgent()
	assert.Equal(t, 0, <-agentDone)

	// The controller "died" after two records: cut the log there.
	runs := filepath.Join(out, "runs.jsonl")
	b, err := os.ReadFile(runs)
	require.NoError(t, err)
	lines := bytes.SplitAfter(b, []byte("\n"))
	require.Len(t, lines, 7) // six records and the empty tail
	require.NoError(t, os.WriteFile(runs, bytes.Join(lines[:2], nil), 0o644))

	code, again, errs := hilchaos(t, append(args, "--resume")...)
	require.Equal(t, ExitOK, code, "no agent is left: the results come from the stream; stderr: %s", errs)
	assert.Equal(t, first, again)
	assertLogOnceEach(t, out, 6)
	for _, l := range lines[:6] {
		assert.Contains(t, string(l), `"rig":{"name":"s`)
	}
}
