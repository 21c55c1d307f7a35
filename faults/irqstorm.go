package faults

import (
	"errors"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// IRQStorm raises an interrupt every Period for Length: a peripheral gone
// wild (a stuck line, a chattering sensor). Interrupt handlers run above
// every task, so the storm takes CPU time from whichever task runs.
type IRQStorm struct {
	// Priority is the interrupt's priority, 0 the most urgent (the
	// NVIC's, 0 to 7 on a part with 3 priority bits).
	Priority int           `mapstructure:"priority"`
	Period   time.Duration `mapstructure:"period"`
	Length   time.Duration `mapstructure:"length"`
}

// MinStormPeriod is the shortest period a board accepts (the reference
// firmware's limit: an interrupt every 20 µs).
const MinStormPeriod = 20 * time.Microsecond

// MaxIRQPriority is the least urgent interrupt priority a board accepts.
const MaxIRQPriority = 7

func init() { Register("irq-storm", func() Fault { return &IRQStorm{} }) }

// Validate implements Validator.
func (s *IRQStorm) Validate() []error {
	var errs []error
	if s.Priority < 0 || s.Priority > MaxIRQPriority {
		errs = append(errs, &FieldError{Field: "priority", Err: fmt.Errorf("must be an interrupt priority from 0 (most urgent) to %d, got %d", MaxIRQPriority, s.Priority)})
	}
	switch {
	case s.Period < MinStormPeriod:
		errs = append(errs, &FieldError{Field: "period", Err: fmt.Errorf("must be at least %v (one interrupt every period), got %v", MinStormPeriod, s.Period)})
	case s.Period%time.Microsecond != 0:
		errs = append(errs, &FieldError{Field: "period", Err: fmt.Errorf("must be whole microseconds, got %v", s.Period)})
	}
	if s.Length < time.Microsecond {
		errs = append(errs, &FieldError{Field: "length", Err: errors.New("must be a positive duration, e.g. 50ms")})
	}
	return errs
}

// Command implements Fault.
func (s *IRQStorm) Command(Names) (wire.FaultCmd, error) {
	return wire.FaultCmd{Kind: wire.FaultIRQStorm, Priority: s.Priority,
		Period: uint64(s.Period / time.Microsecond), Length: uint64(s.Length / time.Microsecond)}, nil
}
