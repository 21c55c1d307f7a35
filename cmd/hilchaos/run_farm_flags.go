package main

import (
	"fmt"

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
}

func (o *farmOptions) addFlags(f *pflag.FlagSet) {
	f.IntVar(&o.parallel, "parallel", harness.DefaultParallel(), "runs at once on sim:// and qemu:// targets, each on a board of its own (default: the number of cores); records and summary are the same whatever it is")
	f.StringVar(&o.rigs, "rigs", "", "rig inventory (rigs.yaml): fan the runs out over its rigs, one run per rig at a time, instead of the campaign's target")
	f.StringVar(&o.labels, "labels", "", "with --rigs, use only the rigs carrying these labels (board=mps2-an385,rev=b)")
	f.StringVar(&o.firmware, "firmware", "", "firmware image under test (an ELF with a GNU build id): each rig's flash argv writes it before the rig's first run, a qemu:// target boots it, and every board must report its build id")
}

// check validates the flags before anything runs.
func (o *farmOptions) check() error {
	if o.parallel < 1 {
		return withCode(ExitInvalid, fmt.Errorf("--parallel %d: must be at least 1", o.parallel))
	}
	if o.labels != "" && o.rigs == "" {
		return withCode(ExitInvalid, fmt.Errorf("--labels needs --rigs FILE: the inventory to choose rigs from"))
	}
	if _, err := farm.ParseSelector(o.labels); err != nil {
		return withCode(ExitInvalid, fmt.Errorf("--labels: %w", err))
	}
	return nil
}

// apply sets where the campaign's runs go. With --rigs, the campaign's
// target becomes "rigs:FILE[?labels]", the name its records and run keys
// carry (each record names its rig).
func (o *farmOptions) apply(c *harness.Campaign, opt *harness.Options) error {
	opt.Parallel = o.parallel
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
