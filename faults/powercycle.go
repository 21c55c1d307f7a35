package faults

import (
	"errors"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// MaxPowerOff bounds a power cycle's off time: longer than any boot
// timeout worth waiting through, and a board switched off for minutes is a
// different test (a soak of the power supply, not of the firmware).
const MaxPowerOff = time.Minute

// PowerCycle switches the board's power off and on again at each firing:
// the board reboots as from power-on (its RAM, .noinit included, is gone).
// The host carries it out itself, at the firing's board time, through
// what the target offers (the simulator's power-on, QEMU's system_reset,
// the rig's own power argv from the local inventory): it is never sent to
// the board, and a campaign never supplies a command.
type PowerCycle struct {
	// Off is how long the board stays unpowered. Only the simulator and
	// QEMU can honour it; a rig's power argv decides its own off time.
	Off time.Duration `mapstructure:"off"`
}

// KindPowerCycle is the power-cycle fault kind's name.
const KindPowerCycle = "power-cycle"

func init() { Register(KindPowerCycle, func() Fault { return &PowerCycle{} }) }

// HostFault is a fault the host carries out itself at the firing's board
// time instead of sending it to the board. Its Command is never sent.
type HostFault interface {
	Fault
	// HostSide marks the kind; it does nothing.
	HostSide()
}

// HostSide implements HostFault.
func (*PowerCycle) HostSide() {}

// Validate implements Validator.
func (p *PowerCycle) Validate() []error {
	var errs []error
	switch {
	case p.Off < 0:
		errs = append(errs, &FieldError{Field: "off", Err: errors.New("must not be negative; write a duration such as 200ms, or leave it out")})
	case p.Off > MaxPowerOff:
		errs = append(errs, &FieldError{Field: "off", Err: fmt.Errorf("%v is beyond the limit of %v", p.Off, MaxPowerOff)})
	}
	return errs
}

// Command implements Fault. A power cycle is carried out by the host, so
// there is no board command: the zero FaultCmd is returned and never sent
// (the harness checks HostFault first).
func (p *PowerCycle) Command(Names) (wire.FaultCmd, error) { return wire.FaultCmd{}, nil }
