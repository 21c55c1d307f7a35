package farm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The farm's JetStream names. Runs wait on a work-queue stream, one
// subject per priority and rig pool; results go to a stream kept until
// deleted (a controller resumes from it); traces to an object store.
const (
	RunsStream    = "HILCHAOS_RUNS"
	ResultsStream = "HILCHAOS_RESULTS"
	TraceBucket   = "hilchaos-traces"
	runsSubject   = "hilchaos.run"
	resultSubject = "hilchaos.result"
)

// Priorities, highest first: an agent takes the highest-priority run
// waiting for its rig whenever it is free.
var Priorities = []string{"ci", "qualification", "soak"}

// ValidPriority reports whether p is one of Priorities.
func ValidPriority(p string) bool {
	for _, q := range Priorities {
		if p == q {
			return true
		}
	}
	return false
}

// NATSOptions say how to reach and authenticate to the NATS server.
// User and password go in the URL (nats://user:pass@host:4222).
type NATSOptions struct {
	URL      string
	Name     string // the client's name, in the server's monitoring
	NKeyFile string // a file holding an NKey seed (SU...)
	CAFile   string // TLS: the CA that signed the server's certificate
	CertFile string // TLS client certificate (with KeyFile)
	KeyFile  string
}

// Connect connects to NATS, reconnecting without limit after a break (a
// restarted server): a night outlives a server restart.
func Connect(o NATSOptions) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond), nats.RetryOnFailedConnect(false)}
	if o.NKeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("NKey seed %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("NATS %s: %w", redact(o.URL), err)
	}
	return nc, nil
}

// redact hides a password in a URL for messages.
func redact(u string) string {
	if at := strings.LastIndexByte(u, '@'); at > 0 {
		if i := strings.Index(u, "://"); i >= 0 && i < at {
			return u[:i+3] + "***@" + u[at+1:]
		}
	}
	return u
}

// Farm is the JetStream side of a farm, for controllers and agents.
type Farm struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	ackWait time.Duration
}

// DefaultAckWait is how long a run may go without an in-progress ack
// before JetStream gives it to another agent.
const DefaultAckWait = 30 * time.Second

// Open makes sure the streams and the trace bucket exist (file storage:
// they survive a server restart).
func Open(ctx context.Context, nc *nats.Conn, ackWait time.Duration) (*Farm, error) {
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	f := &Farm{nc: nc, js: js, ackWait: ackWait}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: RunsStream, Subjects: []string{runsSubject + ".>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", RunsStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ResultsStream, Subjects: []string{resultSubject + ".>"}, Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, Duplicates: 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", ResultsStream, err)
	}
	if _, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: TraceBucket, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("object store %s: %w", TraceBucket, err)
	}
	return f, nil
}

// Job is one run on the wire: everything an agent needs to plan and drive
// it on its own rigs, and nothing it could execute. Decoding rejects any
// other field, so a message carrying an argv runs nothing.
type Job struct {
	Campaign     string  `json:"campaign"` // the campaign id: results subject and trace prefix
	Key          string  `json:"key"`      // the run key
	Attempt      int     `json:"attempt"`  // 0 first, then each retry after a rig error
	Index        int     `json:"index"`
	SweepValue   string  `json:"sweep_value,omitempty"`
	CampaignFile []byte  `json:"campaign_file"` // the campaign file's bytes
	CampaignName string  `json:"campaign_path"` // its path on the controller, for messages
	Duration     string  `json:"duration,omitempty"`
	Repeat       int     `json:"repeat,omitempty"`
	Seed         *uint64 `json:"seed,omitempty"`
	Target       string  `json:"target"` // the name records carry as their target
	Labels       string  `json:"labels"` // the rig selector
	Priority     string  `json:"priority"`
	Trace        bool    `json:"trace"` // store the run's trace in the object store
}

// MsgID is the JetStream de-duplication id of the job.
func (j *Job) MsgID() string { return fmt.Sprintf("%s#%d", j.Key, j.Attempt) }

// TraceName is the object holding the job's trace.
func (j *Job) TraceName() string { return fmt.Sprintf("%s/run-%d.wire.gz", j.Campaign, j.Index) }

// DecodeJob reads a job strictly: unknown fields, trailing data and
// missing essentials are errors.
func DecodeJob(data []byte) (*Job, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("run message: %w", err)
	}
	if dec.More() {
		return nil, errors.New("run message: data after the job")
	}
	if j.Campaign == "" || j.Key == "" || len(j.CampaignFile) == 0 || !ValidPriority(j.Priority) {
		return nil, errors.New("run message: campaign, key, campaign_file and a known priority are required")
	}
	if _, err := ParseSelector(j.Labels); err != nil {
		return nil, fmt.Errorf("run message: labels: %w", err)
	}
	return &j, nil
}

// Result is what an agent publishes for a job.
type Result struct {
	Campaign string          `json:"campaign"`
	Key      string          `json:"key"`
	Attempt  int             `json:"attempt"`
	Index    int             `json:"index"`
	RigError bool            `json:"rig_error"`
	Agent    string          `json:"agent"`
	Record   json.RawMessage `json:"record"`
	Trace    string          `json:"trace,omitempty"` // object name
}

// poolToken names a rig selector in subjects and consumer names.
func poolToken(sel Selector) string {
	h := sha256.Sum256([]byte(sel.String()))
	return hex.EncodeToString(h[:6])
}

func consumerName(prio string, sel Selector) string { return "runs-" + prio + "-" + poolToken(sel) }

// Submit queues a job. The work-queue consumer of its priority and rig
// selector is created if needed; its description holds the selector, for
// agents to match against their rigs.
func (f *Farm) Submit(ctx context.Context, j *Job) error {
	sel, _ := ParseSelector(j.Labels)
	subj := fmt.Sprintf("%s.%s.%s", runsSubject, j.Priority, poolToken(sel))
	if _, err := f.js.CreateOrUpdateConsumer(ctx, RunsStream, jetstream.ConsumerConfig{
		Durable: consumerName(j.Priority, sel), Description: sel.String(), FilterSubject: subj,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: f.ackWait, MaxDeliver: -1, MaxAckPending: -1,
	}); err != nil {
		return fmt.Errorf("consumer for %s: %w", subj, err)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		_, err := f.js.Publish(ctx, subj, data, jetstream.WithMsgID(j.MsgID()))
		return err
	})
}

// retry repeats op until it succeeds or ctx ends: a publish while the
// server restarts fails and succeeds a moment later.
func retry(ctx context.Context, op func() error) error {
	for {
		err := op()
		if err == nil {
			return nil
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Results calls fn with every result of campaign, from the first ever
// published (a controller that restarts sees them all again), until fn
// returns true or ctx ends.
func (f *Farm) Results(ctx context.Context, campaign string, fn func(*Result) (done bool, err error)) error {
	var cons jetstream.Consumer
	if err := retry(ctx, func() error {
		var err error
		cons, err = f.js.OrderedConsumer(ctx, ResultsStream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{resultSubject + "." + campaign}, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		return err
	}); err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(16, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			// A server restart: the ordered consumer recreates itself.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		for m := range batch.Messages() {
			var r Result
			if err := json.Unmarshal(m.Data(), &r); err != nil {
				continue
			}
			done, err := fn(&r)
			if err != nil || done {
				return err
			}
		}
	}
	return ctx.Err()
}

// tryTime is how long one try at moving a trace of size bytes to or from
// the object store may take: 5 s, and a second per MB.
func tryTime(size uint64) time.Duration {
	return 5*time.Second + time.Duration(size)*time.Second/(1<<20)
}

// FetchTrace copies a result's trace from the object store to path.
func (f *Farm) FetchTrace(ctx context.Context, name, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// Retried across a server restart, for a while: a trace that is not
	// there at all is an error, not a wait. Each try has a deadline of
	// its own (tryTime, from the trace's size): a transfer cut by the
	// restart can stall rather than fail, and would otherwise use up the
	// time of the tries after it.
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	return retry(ctx, func() error {
		tctx, tcancel := context.WithTimeout(ctx, tryTime(0))
		defer tcancel()
		obs, err := f.js.ObjectStore(tctx, TraceBucket)
		if err != nil {
			return err
		}
		info, err := obs.GetInfo(tctx, name)
		if err != nil {
			return err
		}
		// A large trace may take longer than the time for retries.
		gctx, gcancel := context.WithTimeout(parent, tryTime(info.Size))
		defer gcancel()
		return obs.GetFile(gctx, name, path)
	})
}

// Executor runs job on rig i of the agent's pool and returns the record
// (JSON), whether it ended in a rig error, and the path of its trace ("" if
// none).
type Executor func(ctx context.Context, job *Job, rig int) (record []byte, rigError bool, trace string, err error)

// Agent serves the rigs of a local inventory: one loop per rig pulls the
// highest-priority run waiting for a selector the rig matches, keeps it
// alive with in-progress acks while it runs, publishes the result and the
// trace, then acks it. Only the inventory's own argv lists are ever run:
// a job carries none.
type Agent struct {
	Farm *Farm
	Name string
	Pool *Pool
	Rigs []Rig
	Exec Executor
	// Log receives one line per job taken, rejected or done.
	Log io.Writer
	// Idle is how long a rig with nothing to do waits before looking again.
	Idle time.Duration

	mu sync.Mutex
}

func (a *Agent) logf(format string, args ...any) {
	if a.Log == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.Log, format+"\n", args...)
}

// Serve runs until ctx ends.
func (a *Agent) Serve(ctx context.Context) error {
	if a.Idle <= 0 {
		a.Idle = 250 * time.Millisecond
	}
	var wg sync.WaitGroup
	for i := range a.Rigs {
		wg.Go(func() { a.rigLoop(ctx, i) })
	}
	wg.Wait()
	return ctx.Err()
}

func (a *Agent) rigLoop(ctx context.Context, i int) {
	rig := a.Rigs[i]
	for ctx.Err() == nil {
		if a.Pool.Health()[i].Quarantined {
			a.logf("rig %s: quarantined, taking no more runs", rig.Name)
			return
		}
		msg := a.next(ctx, &rig)
		if msg == nil {
			t := time.NewTimer(a.Idle)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		a.handle(ctx, i, msg)
	}
}

// next takes the highest-priority run waiting for a selector rig matches.
func (a *Agent) next(ctx context.Context, rig *Rig) jetstream.Msg {
	st, err := a.Farm.js.Stream(ctx, RunsStream)
	if err != nil {
		return nil
	}
	byPrio := map[string][]string{}
	lister := st.ListConsumers(ctx)
	for info := range lister.Info() {
		name := info.Name
		for _, p := range Priorities {
			if strings.HasPrefix(name, "runs-"+p+"-") {
				sel, err := ParseSelector(info.Config.Description)
				if err == nil && sel.Matches(rig) && info.NumPending > 0 {
					byPrio[p] = append(byPrio[p], name)
				}
			}
		}
	}
	for _, p := range Priorities {
		for _, name := range byPrio[p] {
			cons, err := st.Consumer(ctx, name)
			if err != nil {
				continue
			}
			// The consumer said a run is pending: wait a moment for it
			// rather than pass it over for a lower priority (FetchNoWait
			// can come back empty while the server is still busy with
			// the publish).
			batch, err := cons.Fetch(1, jetstream.FetchMaxWait(250*time.Millisecond))
			if err != nil {
				continue
			}
			for m := range batch.Messages() {
				return m
			}
		}
	}
	return nil
}

func (a *Agent) handle(ctx context.Context, i int, msg jetstream.Msg) {
	rig := a.Rigs[i]
	job, err := DecodeJob(msg.Data())
	if err != nil {
		a.logf("rig %s: rejected a run message: %v", rig.Name, err)
		_ = msg.Term()
		return
	}
	a.logf("rig %s: run %d of %s (attempt %d)", rig.Name, job.Index, job.Campaign, job.Attempt)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(a.Farm.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	rec, rigErr, trace, err := a.Exec(runCtx, job, i)
	if err != nil {
		// Not a result (the agent is stopping, or the campaign does not
		// load here): let another agent have it.
		a.logf("rig %s: run %d of %s: %v", rig.Name, job.Index, job.Campaign, err)
		_ = msg.Nak()
		return
	}
	res := Result{Campaign: job.Campaign, Key: job.Key, Attempt: job.Attempt, Index: job.Index, RigError: rigErr, Agent: a.Name, Record: rec}
	if trace != "" {
		// Across a server restart too: the bucket lookup is retried with
		// the upload, for a while. Each try has a deadline of its own,
		// as in FetchTrace: an upload cut by a restart can stall.
		tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := retry(tctx, func() error {
			f, err := os.Open(trace)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			pctx, pcancel := context.WithTimeout(ctx, tryTime(uint64(st.Size())))
			defer pcancel()
			obs, err := a.Farm.js.ObjectStore(pctx, TraceBucket)
			if err != nil {
				return err
			}
			_, err = obs.Put(pctx, jetstream.ObjectMeta{Name: job.TraceName()}, f)
			return err
		})
		cancel()
		if err == nil {
			res.Trace = job.TraceName()
		} else {
			a.logf("rig %s: run %d of %s: trace not stored: %v", rig.Name, job.Index, job.Campaign, err)
		}
		os.Remove(trace)
	}
	data, _ := json.Marshal(res)
	if err := retry(ctx, func() error {
		_, err := a.Farm.js.Publish(ctx, resultSubject+"."+job.Campaign, data, jetstream.WithMsgID(job.MsgID()))
		return err
	}); err != nil {
		return
	}
	actx, cancel := context.WithTimeout(ctx, a.Farm.ackWait)
	defer cancel()
	_ = retry(actx, func() error { return msg.DoubleAck(actx) })
	a.logf("rig %s: run %d of %s done", rig.Name, job.Index, job.Campaign)
}
