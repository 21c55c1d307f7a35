package qemu_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// A board left idle between runs for longer than twice its watchdog
// timeout still resets through the watchdog's NMI when the next run
// starves the watchdog: WX first, then a WDT boot. QEMU 7.2's CMSDK
// watchdog counts with its control register at 0 and keeps a second
// expiry as a reset status that only a machine reset clears; a firmware
// that let it expire twice between runs was reset by the next run's arm,
// at once, with no NMI (no WX, reason EXT: docs/AGENT.md, "Watchdog").
func TestWatchdogAfterIdle(t *testing.T) {
	tg := start(t, "inherit", 5)
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	send(t, tg, wire.Command{Type: wire.TypeStart, ID: 1, Duration: 100000})
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeDone })

	// Idle: a wall second is several board seconds under icount, far more
	// than twice the 200 ms timeout. Nothing may come from an idle board.
	r := readers[tg]
	tg.SetReadDeadline(time.Now().Add(time.Second))
	for {
		f, err := r.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case wire.TypeEvent, wire.TypeSummary, wire.TypeBoot:
			t.Fatalf("an idle board sent %s", f.Line)
		}
	}

	// Starve every task: a burst above bc_sched (priority 10), which kicks.
	send(t, tg, wire.Command{Type: wire.TypeSchedule, ID: 2, At: 50000, Fault: wire.FaultCmd{ID: 9, Kind: wire.FaultLoadBurst, Priority: 11, Length: 3000000}})
	send(t, tg, wire.Command{Type: wire.TypeStart, ID: 3, Duration: 4000000})
	var goAt, fb, wx uint64
	var boot wire.Boot
	frames(t, tg, func(f *wire.Frame) bool {
		switch f.Type {
		case wire.TypeEvent:
			ev, err := f.Event()
			if err != nil {
				t.Fatal(err)
			}
			switch ev.Kind {
			case wire.EvRun:
				goAt = ev.Time
			case wire.EvFaultBegin:
				fb = ev.Time
			case wire.EvWatchdogExpiry:
				wx = ev.Time
			}
		case wire.TypeBoot:
			boot, _ = f.Boot()
			return true
		case wire.TypeDone:
			t.Fatalf("the starved run ended without a reset: %s", f.Line)
		}
		return false
	})
	if boot.Reason != wire.ReasonWatchdog || boot.BootCount != 2 {
		t.Errorf("reboot: reason %q, boot %d; want WDT, 2", boot.Reason, boot.BootCount)
	}
	if fb == 0 || wx == 0 {
		t.Fatalf("GO at %d µs, burst FB at %d, WX at %d: want the burst, then WX", goAt, fb, wx)
	}
	// the watchdog was last kicked before the burst began: it expires
	// one timeout (200 ms) after that kick, well after FB
	if d := wx - fb; d > 200000 || d < 50000 {
		t.Errorf("WX %d µs after the burst began, want within the 200 ms timeout", d)
	}
}
