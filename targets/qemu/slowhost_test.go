package qemu_test

import (
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/qemu"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// A harness that reads the PTY late fills it, and QEMU then holds UART0
// full until the PTY has room again. The firmware must poll UART0 then,
// not sleep: QEMU does not finish the byte while the CPU sleeps in WFI,
// and the line stayed silent until the host wrote something (the run's
// DN never came). Full trace, the PTY read every 50 ms: each run's DN
// arrives. That stall was rare (1 run in about 12 of these with the
// sleeping firmware), so this catches its return only now and then; it
// always catches a firmware or target that cannot survive a slow reader.
func TestSlowHostGetsEveryRunsEnd(t *testing.T) {
	elf := firmware(t, "inherit")
	qemu.SetDrainPause(50 * time.Millisecond)
	defer qemu.SetDrainPause(0)
	for i := range 4 {
		tg, err := qemu.Start("qemu://slow", qemu.Spec{Firmware: elf, Icount: 5})
		if err != nil {
			t.Fatal(err)
		}
		r := wire.NewReader(tg)
		started, done := false, false
		for !done {
			tg.SetReadDeadline(time.Now().Add(5 * time.Second))
			f, err := r.Next()
			if err != nil {
				tg.Close()
				t.Fatalf("run %d: no DN (started %v): %v", i, started, err)
			}
			switch {
			case f.Type == wire.TypeTableEnd && !started:
				started = true
				send(t, tg, wire.Command{Type: wire.TypeConfig, ID: 1, Key: "trace", Value: "2"})
				send(t, tg, wire.Command{Type: wire.TypeStart, ID: 2, Duration: 10_000_000})
			case f.Type == wire.TypeDone:
				done = true
			}
		}
		tg.Close()
	}
}
