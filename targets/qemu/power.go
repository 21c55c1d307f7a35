package qemu

import (
	"context"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

func init() { targets.RegisterPowerCycler("qemu") }

var _ targets.PowerCycler = (*Target)(nil)

// PowerCycle implements targets.PowerCycler with QMP: the machine is
// stopped for off (if any), then system_reset and cont. QEMU then emits a
// RESET event, which the witness counts like any reset, so the witness
// still agrees with the board's reboots. system_reset is the machine's
// reset line, not its supply: RAM (.noinit) survives, so the firmware
// announces an external reset (EXT) rather than POR.
func (t *Target) PowerCycle(ctx context.Context, off time.Duration) (targets.PowerReport, error) {
	rep := targets.PowerReport{How: "qmp system_reset"}
	if off > 0 {
		rep.How = "qmp stop, system_reset, cont"
		if err := t.execute("stop"); err != nil {
			return rep, err
		}
		tm := time.NewTimer(off)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-tm.C:
		}
	}
	if err := t.execute("system_reset"); err != nil {
		return rep, err
	}
	if off > 0 {
		if err := t.execute("cont"); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
