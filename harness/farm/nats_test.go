package farm

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// embedded starts a JetStream server on a free port with file storage in
// a test directory.
func embedded(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	require.NoError(t, err)
	go s.Start()
	require.True(t, s.ReadyForConnections(10*time.Second), "nats-server did not start")
	t.Cleanup(s.Shutdown)
	return s
}

func openTestFarm(t *testing.T, s *server.Server) *Farm {
	t.Helper()
	nc, err := Connect(NATSOptions{URL: s.ClientURL(), Name: t.Name()})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	f, err := Open(context.Background(), nc, 2*time.Second)
	require.NoError(t, err)
	return f
}

type calls struct {
	sync.Mutex
	jobs []string
}

func (c *calls) exec(ctx context.Context, j *Job, rig int) ([]byte, bool, string, error) {
	c.Lock()
	c.jobs = append(c.jobs, j.Priority)
	c.Unlock()
	return []byte(`{"index":` + string(rune('0'+j.Index)) + `}`), false, "", nil
}

func job(prio string, index int, labels string) *Job {
	return &Job{Campaign: "c1", Key: "k" + prio + string(rune('0'+index)), Index: index, CampaignFile: []byte("name: x\n"),
		CampaignName: "x.yaml", Target: "farm:", Labels: labels, Priority: prio}
}

// A crafted run message with an argv is refused: the executor never runs
// and the message is terminated, not redelivered.
func TestAgentRefusesArgvInMessage(t *testing.T) {
	s := embedded(t)
	f := openTestFarm(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A legitimate job first creates the pool's consumer.
	require.NoError(t, f.Submit(ctx, job("ci", 0, "")))
	marker := filepath.Join(t.TempDir(), "pwned")
	crafted := map[string]any{"campaign": "c1", "key": "evil", "index": 1, "campaign_file": []byte("name: x\n"), "campaign_path": "x.yaml",
		"target": "farm:", "labels": "", "priority": "ci", "flash": []string{"touch", marker}, "power": []string{"touch", marker}}
	data, err := json.Marshal(crafted)
	require.NoError(t, err)
	_, err = f.js.Publish(ctx, runsSubject+".ci."+poolToken(Selector{}), data)
	require.NoError(t, err)

	var c calls
	var log bytes.Buffer
	var mu sync.Mutex
	ag := &Agent{Farm: f, Name: "a", Pool: NewPool([]Rig{{Name: "r", Target: "sim://x", Flash: []string{"touch", marker + "-own"}}}),
		Rigs: []Rig{{Name: "r", Target: "sim://x"}}, Exec: c.exec, Log: syncWriter{&mu, &log}, Idle: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { ag.Serve(ctx); close(done) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Contains(log.Bytes(), []byte("rejected a run message"))
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(3 * time.Second) // past the ack wait: a rejected message is not redelivered
	cancel()
	<-done
	c.Lock()
	assert.Equal(t, []string{"ci"}, c.jobs, "only the legitimate job ran")
	c.Unlock()
	assert.NoFileExists(t, marker)
	assert.NoFileExists(t, marker+"-own")
	mu.Lock()
	assert.Contains(t, log.String(), `unknown field "flash"`)
	assert.Equal(t, 1, bytes.Count(log.Bytes(), []byte("rejected")), "refused once, never redelivered: %s", log.String())
	mu.Unlock()
	st, err := f.js.Stream(context.Background(), RunsStream)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs, "the work queue is empty")
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// An agent takes the highest-priority run waiting for its rig: ci before
// qualification before soak, whatever the order they were queued in; and
// only runs for a selector its rig matches.
func TestAgentPriorityAndLabels(t *testing.T) {
	s := embedded(t)
	f := openTestFarm(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		require.NoError(t, f.Submit(ctx, job("soak", i, "")))
	}
	require.NoError(t, f.Submit(ctx, job("qualification", 0, "board=x")))
	require.NoError(t, f.Submit(ctx, job("ci", 0, "board=x")))
	require.NoError(t, f.Submit(ctx, job("ci", 1, "board=other")))
	// Every run is on the stream before the agent looks: the order below
	// is the agent's choice, not the order the publishes landed in.
	require.Eventually(t, func() bool {
		st, err := f.js.Stream(ctx, RunsStream)
		if err != nil {
			return false
		}
		pending := uint64(0)
		for info := range st.ListConsumers(ctx).Info() {
			pending += info.NumPending
		}
		return pending == 6
	}, 10*time.Second, 10*time.Millisecond)
	var c calls
	ag := &Agent{Farm: f, Name: "a", Pool: NewPool([]Rig{{Name: "r"}}), Rigs: []Rig{{Name: "r", Target: "sim://x", Labels: map[string]string{"board": "x"}}},
		Exec: c.exec, Idle: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { ag.Serve(ctx); close(done) }()
	require.Eventually(t, func() bool { c.Lock(); defer c.Unlock(); return len(c.jobs) >= 5 }, 20*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	assert.Equal(t, []string{"ci", "qualification", "soak", "soak", "soak"}, c.jobs, "board=other's run is not this rig's")
	var got []int
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	require.NoError(t, f.Results(rctx, "c1", func(r *Result) (bool, error) {
		got = append(got, r.Index)
		return len(got) == 5, nil
	}))
	assert.Len(t, got, 5)
}

func TestDecodeJob(t *testing.T) {
	j := job("ci", 1, "board=x")
	b, _ := json.Marshal(j)
	got, err := DecodeJob(b)
	require.NoError(t, err)
	assert.Equal(t, j, got)
	for _, bad := range []string{`{}`, `{"campaign":"c","key":"k","campaign_file":"eA==","priority":"urgent"}`, `not json`,
		`{"campaign":"c","key":"k","campaign_file":"eA==","priority":"ci","argv":["sh"]}`, string(b) + `{}`} {
		_, err := DecodeJob([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func FuzzDecodeJob(f *testing.F) {
	b, _ := json.Marshal(job("ci", 1, "board=x"))
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJob(data)
		if err == nil && (j.Campaign == "" || !ValidPriority(j.Priority)) {
			t.Fatalf("accepted %q", data)
		}
	})
}
