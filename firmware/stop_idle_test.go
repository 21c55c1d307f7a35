package firmware

import (
	"strings"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// PROTOCOL.md 2.2 and 2.4: SP on an idle board discards the faults
// scheduled for the next run, so a host that stops a board after a reboot
// leaves nothing that stale SF copies scheduled. Faults scheduled after
// the SP fire as usual.
func TestIdleStopDiscardsScheduledFaults(t *testing.T) {
	h := pathfinderHost(t, Config{Trace: 1})
	h.advance(50 * ms)
	burst := func(id uint32) wire.Command {
		return wire.Command{Type: wire.TypeSchedule, At: 10_000,
			Fault: wire.FaultCmd{ID: id, Kind: wire.FaultLoadBurst, Priority: 1, Length: 1000}}
	}
	h.send(burst(71)) // stale: scheduled before the SP
	h.send(wire.Command{Type: wire.TypeStop})
	h.send(burst(72))
	h.send(wire.Command{Type: wire.TypeStart, Duration: 100_000})
	h.advance(150 * ms)
	var begun []string
	for _, l := range stripCRC(h.lines) {
		if strings.HasPrefix(l, "EV,") && strings.Contains(l, ",FB,") {
			begun = append(begun, l)
		}
	}
	if len(begun) != 1 || !strings.HasSuffix(begun[0], ",72") {
		t.Fatalf("fault begins after SF 71, SP, SF 72, GO: %q, want fault 72 only", begun)
	}
}
