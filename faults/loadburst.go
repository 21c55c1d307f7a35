package faults

import (
	"errors"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// LoadBurst is a CPU-bound job released at a given priority that consumes a
// given amount of CPU: the medium-priority work that kept Pathfinder's
// ASI/MET task from releasing the bus lock.
type LoadBurst struct {
	Priority int           `mapstructure:"priority"`
	Length   time.Duration `mapstructure:"length"`
}

func init() { Register("load-burst", func() Fault { return &LoadBurst{} }) }

// Validate implements Validator.
func (l *LoadBurst) Validate() []error {
	var errs []error
	if l.Length <= 0 {
		errs = append(errs, &FieldError{Field: "length", Err: errors.New("must be a positive duration, e.g. 50ms")})
	}
	if l.Priority <= 0 {
		errs = append(errs, &FieldError{Field: "priority", Err: errors.New("must be a positive task priority (larger is more urgent)")})
	}
	return errs
}

// Command implements Fault.
func (l *LoadBurst) Command(Names) (wire.FaultCmd, error) {
	return wire.FaultCmd{Kind: wire.FaultLoadBurst, Priority: l.Priority, Length: uint64(l.Length / time.Microsecond)}, nil
}
