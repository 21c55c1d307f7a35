package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/targets"
)

// powerFaults lists the campaign's power-cycle faults by position.
func (c *Campaign) powerFaults() []int {
	var out []int
	for i, f := range c.Faults {
		if _, ok := f.Fault.(*faults.PowerCycle); ok {
			out = append(out, i)
		}
	}
	return out
}

// checkPower refuses, before anything runs, a campaign with a power-cycle
// fault some of whose rigs cannot switch their board's power: a rig needs
// a power argv in its own inventory (a campaign never supplies a command),
// or a target that power-cycles by itself (sim://, qemu://). A rig's argv
// decides its own off time, so off is refused there. The error is an
// *InvalidError (exit 2) naming the fault's field and what would make it
// work.
func checkPower(c *Campaign, rigs []farm.Rig) error {
	idx := c.powerFaults()
	if len(idx) == 0 {
		return nil
	}
	var errs []error
	for _, r := range rigs {
		who := "the target " + r.Target
		if r.Name != "" {
			who = fmt.Sprintf("rig %s (%s)", r.Name, r.Target)
		}
		for _, i := range idx {
			field := fmt.Sprintf("faults[%d]", i)
			pc := c.Faults[i].Fault.(*faults.PowerCycle)
			switch {
			case len(r.Power) > 0:
				if pc.Off > 0 {
					errs = append(errs, fieldErr(field+".off", "%s is power-cycled by its power argv %v, which decides how long the board is off: leave off out (it is honoured on sim:// and qemu:// targets only)", who, r.Power))
				}
			case !targets.CanPowerCycle(r.Target):
				errs = append(errs, fieldErr(field+".kind", "power-cycle: %s cannot switch the board's power: give the rig a power argv in rigs.yaml (power: [program, args...]) and run with --rigs, or run on a sim:// or qemu:// target", who))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &InvalidError{Path: c.Path, Context: "cannot power-cycle its board", Problems: errs}
}

// CheckPower is checkPower for the command line: the campaign's own
// target, or the rigs it runs on.
func CheckPower(c *Campaign, rigs []farm.Rig) error {
	if rigs == nil {
		rigs = []farm.Rig{{Target: c.Target}}
	}
	return checkPower(c, rigs)
}

// powerFor is how a run on t switches the board's power: the rig's power
// argv from the local inventory if it has one, else the target's own
// (targets.PowerCycler); nil if neither.
func powerFor(t targets.Target, rig *farm.Rig) func(context.Context, time.Duration) (targets.PowerReport, error) {
	if rig != nil && len(rig.Power) > 0 {
		argv := farm.Expand(rig.Power, "", farm.Port(rig.Target))
		timeout := rig.CommandTimeout
		return func(ctx context.Context, _ time.Duration) (targets.PowerReport, error) {
			cmd, err := farm.Run(ctx, argv, timeout)
			return targets.PowerReport{How: "rig power argv", Argv: cmd.Argv, ExitCode: cmd.ExitCode, Output: cmd.Output}, err
		}
	}
	if p, ok := t.(targets.PowerCycler); ok {
		return p.PowerCycle
	}
	return nil
}
