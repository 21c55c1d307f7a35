package faults

import (
	"errors"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// LockHold lengthens a named task's next critical section on a named lock:
// the moment when ASI/MET held the bus mutex that bc_dist needed.
type LockHold struct {
	Task  string        `mapstructure:"task"`
	Lock  string        `mapstructure:"lock"`
	Extra time.Duration `mapstructure:"extra"`
}

func init() { Register("lock-hold", func() Fault { return &LockHold{} }) }

// Validate implements Validator.
func (l *LockHold) Validate() []error {
	var errs []error
	if l.Task == "" {
		errs = append(errs, &FieldError{Field: "task", Err: errors.New("required: the task whose critical section is lengthened")})
	}
	if l.Lock == "" {
		errs = append(errs, &FieldError{Field: "lock", Err: errors.New("required: the lock it holds")})
	}
	// Zero is allowed (the fault then changes nothing) so that a sweep can
	// start from the undisturbed board.
	if l.Extra < 0 {
		errs = append(errs, &FieldError{Field: "extra", Err: errors.New("must not be negative; write a duration such as 20ms")})
	}
	return errs
}

// Idle implements Idler: a hold of no extra time changes nothing.
func (l *LockHold) Idle() bool { return l.Extra == 0 }

// Command implements Fault.
func (l *LockHold) Command(n Names) (wire.FaultCmd, error) {
	t, ok := n.TaskIndex(l.Task)
	if !ok {
		return wire.FaultCmd{}, &FieldError{Field: "task", Err: fmt.Errorf("the board declares no task %q", l.Task)}
	}
	k, ok := n.LockIndex(l.Lock)
	if !ok {
		return wire.FaultCmd{}, &FieldError{Field: "lock", Err: fmt.Errorf("the board declares no lock %q", l.Lock)}
	}
	return wire.FaultCmd{Kind: wire.FaultLockHold, Task: t, Lock: k, Extra: uint64(l.Extra / time.Microsecond)}, nil
}
