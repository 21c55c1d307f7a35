package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/farm"
)

type agentOptions struct {
	nats     string
	rigs     string
	labels   string
	name     string
	firmware string
	ackWait  time.Duration
	metrics  string
	flags    natsFlags
}

func (a *app) agentCommand() *cobra.Command {
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent --nats URL --rigs RIGS.yaml",
		Short: "Serve this host's rigs to a farm: pull runs from NATS JetStream, drive them, publish the records",
		Long: `Run on each rig host of a farm. For every rig of the local inventory the
agent pulls the highest-priority run waiting for a rig selector the rig
matches (ci before qualification before soak), drives it as 'hilchaos run'
would, keeps it alive with in-progress acks while it lasts, publishes the
record to the results stream and the trace to the object store, then acks
it. A run whose agent dies is given to another agent after --ack-wait.

A run message carries the campaign and the run index, never a command: the
only flash and power argv lists an agent runs are those of its own
inventory. A message with any other field is refused and runs nothing.

Controllers send runs with: hilchaos run CAMPAIGN --farm nats://HOST:4222.
See docs/FARM.md.
` + exitStatusHelp,
		Example: `  hilchaos agent --nats nats://farm:4222 --rigs /etc/hilchaos/rigs.yaml
  hilchaos agent --nats nats://agent:secret@farm:4222 --rigs rigs.yaml --firmware build/app.elf`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), lookupEnv); err != nil {
				return withCode(ExitInvalid, err)
			}
			if o.nats == "" || o.rigs == "" {
				return withCode(ExitInvalid, errors.New("give --nats URL and --rigs FILE"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.agent(cmd.Context(), o) },
	}
	f := cmd.Flags()
	host, _ := os.Hostname()
	f.StringVar(&o.nats, "nats", "", "NATS server URL (nats://HOST:4222; nats://user:pass@HOST:4222)")
	f.StringVar(&o.rigs, "rigs", "", "this host's rig inventory (rigs.yaml)")
	f.StringVar(&o.labels, "labels", "", "serve only the rigs carrying these labels")
	f.StringVar(&o.name, "name", host, "the agent's name in results")
	f.StringVar(&o.firmware, "firmware", "", "firmware image under test: each rig's flash argv writes it before the rig's first run; boards must report its GNU build id")
	f.DurationVar(&o.ackWait, "ack-wait", farm.DefaultAckWait, "the farm's redelivery time (must match the controllers')")
	f.StringVar(&o.metrics, "metrics-addr", "", "serve Prometheus metrics on this address (:9464): runs by verdict, resets by kind, rig health, board seconds, telemetry loss")
	o.flags.addFlags(f)
	return cmd
}

func (a *app) agent(ctx context.Context, o agentOptions) error {
	inv, err := loadInventory(o.rigs)
	if err != nil {
		return err
	}
	sel, err := farm.ParseSelector(o.labels)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("--labels: %w", err))
	}
	rigs := inv.Select(sel)
	if len(rigs) == 0 {
		return withCode(ExitInvalid, fmt.Errorf("%s: no rig carries the labels %s", o.rigs, sel))
	}
	opt := harness.Options{}
	if o.firmware != "" {
		id, err := farm.BuildID(o.firmware)
		if err != nil {
			return withCode(ExitInvalid, fmt.Errorf("--firmware: %w", err))
		}
		opt.Firmware, opt.FirmwareBuild = o.firmware, id
	}
	f, closeFarm, err := openFarm(ctx, &o.flags, o.nats, "hilchaos agent "+o.name, o.ackWait)
	if err != nil {
		return err
	}
	defer closeFarm()
	scratch, err := os.MkdirTemp("", "hilchaos-agent-")
	if err != nil {
		return withCode(ExitInfra, err)
	}
	defer os.RemoveAll(scratch)
	pool := farm.NewPool(rigs)
	var metrics *farm.Metrics
	if o.metrics != "" {
		metrics = farm.NewMetrics(pool)
		addr, stop, err := metrics.Serve(o.metrics)
		if err != nil {
			return withCode(ExitInvalid, err)
		}
		defer stop()
		fmt.Fprintf(a.stderr, "metrics: http://%s/metrics\n", addr)
	}
	ex := &agentExec{metrics: metrics, scratch: scratch, opt: opt, pool: pool, rigs: rigs, campaigns: map[[32]byte]*harness.Campaign{}}
	ag := &farm.Agent{Farm: f, Name: o.name, Pool: pool, Rigs: rigs, Exec: ex.run, Log: a.stderr}
	fmt.Fprintf(a.stderr, "agent %s: serving %d rig(s) to %s\n", o.name, len(rigs), o.nats)
	err = ag.Serve(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// agentExec runs jobs on the agent's rigs.
type agentExec struct {
	scratch string
	opt     harness.Options
	pool    *farm.Pool
	rigs    []farm.Rig

	metrics *farm.Metrics

	mu        sync.Mutex
	campaigns map[[32]byte]*harness.Campaign
	n         int
}

// campaign loads a job's campaign (once per content and plan).
func (e *agentExec) campaign(job *farm.Job) (*harness.Campaign, error) {
	over := harness.Overrides{Repeat: job.Repeat, Seed: job.Seed}
	if job.Duration != "" {
		d, err := time.ParseDuration(job.Duration)
		if err != nil {
			return nil, fmt.Errorf("duration %q: %w", job.Duration, err)
		}
		over.Duration = d
	}
	k := sha256.Sum256(fmt.Appendf(append([]byte{}, job.CampaignFile...), "\x00%s\x00%d\x00%v", job.Duration, job.Repeat, job.Seed))
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.campaigns[k]; ok {
		return c, nil
	}
	e.n++
	dir := filepath.Join(e.scratch, fmt.Sprintf("c%d", e.n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, filepath.Base(job.CampaignName))
	if err := os.WriteFile(path, job.CampaignFile, 0o644); err != nil {
		return nil, err
	}
	c, err := harness.LoadCampaign(path, over)
	if err != nil {
		return nil, err
	}
	e.campaigns[k] = c
	return c, nil
}

func (e *agentExec) run(ctx context.Context, job *farm.Job, i int) ([]byte, bool, string, error) {
	shared, err := e.campaign(job)
	if err != nil {
		return nil, false, "", err
	}
	c := *shared
	c.Target = job.Target
	p, err := harness.PlanOf(&c, job.Index, job.SweepValue)
	if err != nil {
		return nil, false, "", err
	}
	opt := e.opt
	if job.Trace {
		dir, err := os.MkdirTemp(e.scratch, "run-")
		if err != nil {
			return nil, false, "", err
		}
		opt.TraceDir = dir
	}
	rec, rigErr, err := harness.RunOnRig(ctx, &c, p, opt, e.pool, i, e.rigs[i])
	if err != nil {
		return nil, false, "", err
	}
	if e.metrics != nil {
		e.metrics.Observe(rec)
	}
	trace := ""
	if rec.Trace != "" {
		trace = filepath.Join(opt.TraceDir, rec.Trace)
	}
	data, err := json.Marshal(rec)
	return data, rigErr, trace, err
}
