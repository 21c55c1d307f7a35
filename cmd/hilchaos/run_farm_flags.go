package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/targets"
)

// farmOptions are run's flags for where runs go: in parallel on simulated
// boards, or over a pool of rigs.
type farmOptions struct {
	parallel int
	rigs     string
	labels   string
	firmware string
	url      string // --farm
	priority string
	nats     natsFlags
	ackWait  time.Duration
	metrics  string
	stop     func()
}

// natsFlags are the connection and authentication flags of --farm and of
// the agent.
type natsFlags struct{ nkey, ca, cert, key string }

func (n *natsFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&n.nkey, "nats-nkey", "", "file holding the NKey seed to authenticate to NATS with (user and password go in the URL: nats://user:pass@host:4222)")
	f.StringVar(&n.ca, "nats-ca", "", "TLS: CA certificate the NATS server's certificate is checked against")
	f.StringVar(&n.cert, "nats-cert", "", "TLS: client certificate (with --nats-key)")
	f.StringVar(&n.key, "nats-key", "", "TLS: client key")
}

func (n *natsFlags) options(url, name string) farm.NATSOptions {
	return farm.NATSOptions{URL: url, Name: name, NKeyFile: n.nkey, CAFile: n.ca, CertFile: n.cert, KeyFile: n.key}
}

// openFarm connects to the farm and makes sure its streams exist.
func openFarm(ctx context.Context, n *natsFlags, url, name string, ackWait time.Duration) (*farm.Farm, func(), error) {
	nc, err := farm.Connect(n.options(url, name))
	if err != nil {
		return nil, nil, withCode(ExitInfra, err)
	}
	f, err := farm.Open(ctx, nc, ackWait)
	if err != nil {
		nc.Close()
		return nil, nil, withCode(ExitInfra, fmt.Errorf("NATS %s: %w", url, err))
	}
	return f, nc.Close, nil
}

func (o *farmOptions) addFlags(f *pflag.FlagSet) {
	f.IntVar(&o.parallel, "parallel", harness.DefaultParallel(), "runs at once on sim:// and qemu:// targets, each on a board of its own (default: the number of cores); records and summary are the same whatever it is")
	f.StringVar(&o.rigs, "rigs", "", "rig inventory (rigs.yaml): fan the runs out over its rigs, one run per rig at a time, instead of the campaign's target")
	f.StringVar(&o.labels, "labels", "", "with --rigs, use only the rigs carrying these labels (board=mps2-an385,rev=b)")
	f.StringVar(&o.url, "farm", "", "send the runs to a rig farm over NATS JetStream (nats://HOST:4222): agents on the rig hosts run them (hilchaos agent); with --out, records and traces are collected there")
	f.StringVar(&o.priority, "priority", "soak", "with --farm, the campaign's priority: ci, qualification or soak (an agent takes the highest-priority run waiting)")
	f.DurationVar(&o.ackWait, "ack-wait", farm.DefaultAckWait, "with --farm, how long a run may go without news from its agent before another agent gets it")
	o.nats.addFlags(f)
	f.StringVar(&o.metrics, "metrics-addr", "", "serve Prometheus metrics on this address (:9464) while the campaign runs: runs by verdict, resets by kind, rig health, board seconds, telemetry loss")
	f.StringVar(&o.firmware, "firmware", "", "firmware image under test (an ELF with a GNU build id): each rig's flash argv writes it before the rig's first run, a qemu:// target boots it, and every board must report its build id")
}

// check validates the flags before anything runs.
func (o *farmOptions) check(only int, sweepValue string) error {
	if o.parallel < 1 {
		return withCode(ExitInvalid, fmt.Errorf("--parallel %d: must be at least 1", o.parallel))
	}
	if o.labels != "" && o.rigs == "" && o.url == "" {
		return withCode(ExitInvalid, errors.New("--labels needs --rigs FILE or --farm URL: the rigs to choose from"))
	}
	if _, err := farm.ParseSelector(o.labels); err != nil {
		return withCode(ExitInvalid, fmt.Errorf("--labels: %w", err))
	}
	if o.url != "" {
		switch {
		case o.rigs != "":
			return withCode(ExitInvalid, errors.New("--farm and --rigs: the farm's rigs are the agents' inventories; give --labels to choose among them"))
		case o.firmware != "":
			return withCode(ExitInvalid, errors.New("--firmware with --farm: give it to each agent (hilchaos agent --firmware), whose inventory flashes it"))
		case only >= 0 || sweepValue != "":
			return withCode(ExitInvalid, errors.New("--run and --sweep-value reproduce one run: do it on one rig (--target or --rigs), not on the farm"))
		case !farm.ValidPriority(o.priority):
			return withCode(ExitInvalid, fmt.Errorf("--priority %q: want one of %v", o.priority, farm.Priorities))
		}
	}
	return nil
}

// apply sets where the campaign's runs go. With --rigs, the campaign's
// target becomes "rigs:FILE[?labels]", the name its records and run keys
// carry (each record names its rig).
func (o *farmOptions) apply(c *harness.Campaign, opt *harness.Options) error {
	opt.Parallel = o.parallel
	if o.url != "" {
		sel, _ := farm.ParseSelector(o.labels)
		c.Target = "farm:" + sel.String()
		return nil
	}
	if o.firmware != "" {
		id, err := farm.BuildID(o.firmware)
		if err != nil {
			return withCode(ExitInvalid, fmt.Errorf("--firmware: %w", err))
		}
		opt.Firmware, opt.FirmwareBuild = o.firmware, id
	}
	if o.rigs == "" {
		return nil
	}
	inv, err := loadInventory(o.rigs)
	if err != nil {
		return err
	}
	sel, _ := farm.ParseSelector(o.labels)
	rigs := inv.Select(sel)
	if len(rigs) == 0 {
		return withCode(ExitInvalid, fmt.Errorf("%s: no rig carries the labels %s", o.rigs, sel))
	}
	opt.Rigs = farm.NewPool(rigs)
	c.Target = "rigs:" + o.rigs
	if len(sel) > 0 {
		c.Target += "?" + sel.String()
	}
	return nil
}

// loadInventory reads a rigs.yaml; an invalid one is exit 2, an unreadable
// one exit 3.
func loadInventory(path string) (*farm.Inventory, error) {
	farm.SchemeChecker = checkScheme
	inv, err := farm.Load(path)
	if err != nil {
		if _, ok := err.(*farm.InvalidError); ok {
			return nil, withCode(ExitInvalid, err)
		}
		return nil, withCode(ExitInvalid, fmt.Errorf("rig inventory: %w", err))
	}
	return inv, nil
}

// checkScheme refuses a rig target whose scheme no target package knows.
func checkScheme(target string) error {
	_, _, err := targets.Parse(target)
	return err
}

// execute runs the campaign on the farm.
func (o *farmOptions) execute(ctx context.Context, c *harness.Campaign, opt harness.Options, path string) (*harness.Summary, error) {
	if c.Sweep != nil && c.Sweep.Search != "" {
		return nil, withCode(ExitInvalid, errors.New("--farm: a search campaign plans its runs as it goes; run it on one controller"))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, withCode(ExitInvalid, err)
	}
	f, closeFarm, err := openFarm(ctx, &o.nats, o.url, "hilchaos run "+filepath.Base(path), o.ackWait)
	if err != nil {
		return nil, err
	}
	defer closeFarm()
	sel, _ := farm.ParseSelector(o.labels)
	seed := c.Seed
	return harness.ExecuteFarm(ctx, c, opt, harness.FarmRun{Farm: f, CampaignFile: data, CampaignPath: path,
		Duration: c.Duration.String(), Repeat: c.Repeat, Seed: &seed, Labels: sel.String(), Priority: o.priority})
}

// serveMetrics starts the Prometheus endpoint, if asked, and counts every
// finished run in it.
func (o *farmOptions) serveMetrics(a *app, opt *harness.Options) error {
	if o.metrics == "" {
		return nil
	}
	m := farm.NewMetrics(opt.Rigs)
	addr, stop, err := m.Serve(o.metrics)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	o.stop = stop
	fmt.Fprintf(a.stderr, "metrics: http://%s/metrics\n", addr)
	progress := opt.Progress
	opt.Progress = func(done, total int, r *harness.RunRecord) {
		m.Observe(r)
		if progress != nil {
			progress(done, total, r)
		}
	}
	return nil
}

// close stops what serveMetrics started.
func (o *farmOptions) close() {
	if o.stop != nil {
		o.stop()
	}
}
