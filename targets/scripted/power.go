package scripted

import (
	"context"
	"errors"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

func init() { targets.RegisterPowerCycler("scripted") }

var (
	_ targets.PowerCycler = (*Target)(nil)
	_ targets.BoardClock  = (*Target)(nil)
)

// powerBoard is a Board with a power switch (firmware.Board).
type powerBoard interface {
	PowerCycle(off time.Duration)
	BootedAt() int64
}

// PowerCycle implements targets.PowerCycler when the board played has a
// power switch (the reference model does; a Script does not). The knobs
// go on: with NeverBootAgain the board stays silent after the cycle, as a
// rig whose power never comes back.
func (t *Target) PowerCycle(_ context.Context, off time.Duration) (targets.PowerReport, error) {
	pb, ok := t.b.(powerBoard)
	if !ok {
		return targets.PowerReport{}, errors.New("scripted: the board played has no power switch")
	}
	pb.PowerCycle(off)
	t.stats.PowerCycles++
	t.bootAt, t.bootCount = -1, 0 // the next banner is a new boot
	if t.k.NeverBootAgain {
		t.dead = true
	}
	return targets.PowerReport{How: "scripted"}, nil
}

// Uptime implements targets.BoardClock: the board's time since its last
// boot.
func (t *Target) Uptime() time.Duration {
	if pb, ok := t.b.(powerBoard); ok {
		return time.Duration(t.b.Now() - pb.BootedAt())
	}
	if t.bootAt >= 0 {
		return time.Duration(t.b.Now() - t.bootAt)
	}
	return 0
}
