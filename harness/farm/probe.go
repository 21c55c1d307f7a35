package farm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Banner is what a rig said about itself when probed.
type Banner struct {
	Name, Version, Build string
	Reason               string // the boot reason of the banner read
	Tasks, Locks         int    // the task table that followed it
	Identity             targets.Identity
	// Reset is true when the board was silent and was asked to reboot
	// (RS) to get its banner.
	Reset bool
}

// Probe opens target, reads its BOOT banner and task table, and closes
// it. A board that is already up and silent is asked for a software reset
// once, after wait. It is what `hilchaos rigs check` does per rig.
func Probe(ctx context.Context, target string, wait time.Duration) (*Banner, error) {
	t, err := targets.Open(target, targets.Options{Trace: 1})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	defer context.AfterFunc(ctx, func() { t.Close() })()
	b := &Banner{}
	if id, ok := t.(targets.Identifier); ok {
		b.Identity = id.Identity()
	}
	clk := targets.ClockOf(t)
	r := wire.NewReader(t)
	booted := false
	read := func(until time.Time) (bool, error) {
		if err := t.SetReadDeadline(until); err != nil {
			return false, err
		}
		for {
			f, err := r.Next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return false, nil
			}
			if err != nil {
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				return false, err
			}
			switch f.Type {
			case wire.TypeBoot:
				bt, err := f.Boot()
				if err != nil {
					continue
				}
				booted = true
				b.Name, b.Version, b.Build, b.Reason = bt.Name, bt.Version, bt.Build, bt.Reason
				b.Tasks, b.Locks = 0, 0
			case wire.TypeTask:
				b.Tasks++
			case wire.TypeLock:
				b.Locks++
			case wire.TypeTableEnd:
				if booted {
					return true, nil
				}
			}
		}
	}
	ok, err := read(clk.Now().Add(wait))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	if !ok {
		b.Reset = true
		cmd := wire.AppendCommand(nil, wire.Command{Type: wire.TypeReset, ID: rand.Uint32() >> 1})
		if _, err := t.Write(cmd); err != nil {
			return nil, fmt.Errorf("%s: write: %w", target, err)
		}
		if ok, err = read(clk.Now().Add(wait)); err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: no BOOT banner and task table within %v, even after a reset (RS)", target, wait)
		}
	}
	return b, nil
}
