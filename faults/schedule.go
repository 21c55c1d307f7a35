package faults

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Schedule says when a fault fires, in run time (time since the run
// started). Exactly one of At, Every, Phase and Poisson is set.
type Schedule struct {
	// At fires once at each listed time.
	At []time.Duration `mapstructure:"at"`
	// Every fires periodically from Start (default: one period in).
	Every time.Duration `mapstructure:"every"`
	Start time.Duration `mapstructure:"start"`
	// Jitter moves each firing by a uniform draw from [-Jitter, +Jitter].
	// It applies to Every and Phase.
	Jitter time.Duration `mapstructure:"jitter"`
	// Phase fires at a fixed offset inside a named task's cycle.
	Phase *Phase `mapstructure:"phase"`
	// Poisson fires at random with this mean rate per second.
	Poisson float64 `mapstructure:"poisson"`
	// Count caps the number of firings (0: no cap).
	Count int `mapstructure:"count"`
}

// Phase is a frame-aligned schedule: cycle k of Task is released at
// Task.offset + k*Task.period; the fault fires Offset after that, for cycles
// First, First+Cycles, First+2*Cycles, ...
type Phase struct {
	Task   string        `mapstructure:"task"`
	Offset time.Duration `mapstructure:"offset"`
	Cycles int           `mapstructure:"cycles"`
	First  int           `mapstructure:"first"`
}

// Cycle tells a schedule a task's period and first release.
type Cycle func(task string) (period, offset time.Duration, ok bool)

// Validate reports every problem with the schedule's own fields; cycle, if
// not nil, is used to check the task a phase names.
func (s *Schedule) Validate(cycle Cycle) []error {
	var errs []error
	fe := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, a...)})
	}
	set := 0
	if len(s.At) > 0 {
		set++
		for i, t := range s.At {
			if t < 0 {
				fe(fmt.Sprintf("at[%d]", i), "negative time %v", t)
			}
		}
	}
	if s.Every != 0 {
		set++
		if s.Every < 0 {
			fe("every", "must be a positive duration, got %v", s.Every)
		}
	}
	if s.Phase != nil {
		set++
		p := s.Phase
		if p.Task == "" {
			fe("phase.task", "required: the task whose cycle the fault is aligned to")
		} else if cycle != nil {
			if period, _, ok := cycle(p.Task); !ok {
				fe("phase.task", "unknown task %q", p.Task)
			} else if period <= 0 {
				fe("phase.task", "task %q is not periodic", p.Task)
			} else if p.Offset < 0 || p.Offset >= period {
				fe("phase.offset", "%v is outside %s's %v cycle", p.Offset, p.Task, period)
			}
		}
		if p.Cycles < 0 {
			fe("phase.cycles", "must be positive, got %d", p.Cycles)
		}
		if p.First < 0 {
			fe("phase.first", "must not be negative, got %d", p.First)
		}
	}
	if s.Poisson != 0 {
		set++
		if s.Poisson < 0 || math.IsNaN(s.Poisson) || math.IsInf(s.Poisson, 0) {
			fe("poisson", "must be a positive rate per second, got %v", s.Poisson)
		}
	}
	switch {
	case set == 0:
		fe("", "needs one of at, every, phase or poisson")
	case set > 1:
		fe("", "give only one of at, every, phase or poisson")
	}
	if s.Jitter < 0 {
		fe("jitter", "must not be negative, got %v", s.Jitter)
	}
	if s.Start < 0 {
		fe("start", "must not be negative, got %v", s.Start)
	}
	if s.Count < 0 {
		fe("count", "must not be negative, got %d", s.Count)
	}
	return errs
}

// Times returns the sorted firing times in [0, length). It is a pure
// function of the schedule, length, cycle and the state of rng.
func (s *Schedule) Times(length time.Duration, rng *rand.Rand, cycle Cycle) []time.Duration {
	var out []time.Duration
	jitter := func(t time.Duration) time.Duration {
		if s.Jitter <= 0 {
			return t
		}
		return t + time.Duration(rng.Int64N(int64(2*s.Jitter)+1)) - s.Jitter
	}
	full := func() bool { return s.Count > 0 && len(out) >= s.Count }
	add := func(t time.Duration) {
		if t >= 0 && t < length && !full() {
			out = append(out, t)
		}
	}
	switch {
	case len(s.At) > 0:
		for _, t := range s.At {
			add(t)
		}
	case s.Every > 0:
		start := s.Start
		if start == 0 {
			start = s.Every
		}
		for t := start; t < length && !full(); t += s.Every {
			add(jitter(t))
		}
	case s.Phase != nil:
		period, offset, ok := cycle(s.Phase.Task)
		if !ok || period <= 0 {
			return nil
		}
		step := max(s.Phase.Cycles, 1)
		for k := s.Phase.First; ; k += step {
			t := offset + time.Duration(k)*period + s.Phase.Offset
			if t >= length || full() {
				break
			}
			add(jitter(t))
		}
	case s.Poisson > 0:
		mean := float64(time.Second) / s.Poisson
		for t := time.Duration(0); !full(); {
			t += time.Duration(rng.ExpFloat64() * mean)
			if t >= length {
				break
			}
			add(t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
