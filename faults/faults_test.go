package faults

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

func TestKindsAreRegistered(t *testing.T) {
	assert.Equal(t, []string{"irq-storm", "load-burst", "lock-hold", "power-cycle"}, Kinds())
	assert.Panics(t, func() { Register("load-burst", func() Fault { return &LoadBurst{} }) }, "a duplicate name is a programming error")
}

func TestDecodeReportsEveryFieldProblem(t *testing.T) {
	_, errs := Decode("lock-hold", map[string]any{"task": "", "extra": "-5ms", "colour": "red"})
	var fields []string
	for _, e := range errs {
		fe, ok := e.(*FieldError)
		require.True(t, ok, "%T", e)
		fields = append(fields, fe.Field)
	}
	assert.ElementsMatch(t, []string{"colour"}, fields, "unknown keys stop decoding before validation")

	_, errs = Decode("lock-hold", map[string]any{"task": "", "extra": "-5ms"})
	fields = fields[:0]
	for _, e := range errs {
		fields = append(fields, e.(*FieldError).Field)
	}
	assert.ElementsMatch(t, []string{"task", "lock", "extra"}, fields)

	_, errs = Decode("load-burst", map[string]any{"priority": 5, "length": 20})
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "no unit")

	_, errs = Decode("cosmic-ray", nil)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), `unknown fault kind "cosmic-ray"`)
}

type names map[string]int

func (n names) TaskIndex(s string) (int, bool) { i, ok := n[s]; return i, ok }
func (n names) LockIndex(s string) (int, bool) { i, ok := n["lock:"+s]; return i, ok }

func TestCommands(t *testing.T) {
	f, errs := Decode("lock-hold", map[string]any{"task": "asi_met", "lock": "bus", "extra": "25ms"})
	require.Empty(t, errs)
	cmd, err := f.Command(names{"asi_met": 5, "lock:bus": 0})
	require.NoError(t, err)
	assert.Equal(t, wire.FaultCmd{Kind: wire.FaultLockHold, Task: 5, Lock: 0, Extra: 25000}, cmd)
	_, err = f.Command(names{})
	assert.ErrorContains(t, err, `no task "asi_met"`)

	f, errs = Decode("load-burst", map[string]any{"priority": 5, "length": "110ms"})
	require.Empty(t, errs)
	cmd, err = f.Command(nil)
	require.NoError(t, err)
	assert.Equal(t, wire.FaultCmd{Kind: wire.FaultLoadBurst, Priority: 5, Length: 110000}, cmd)
}

// An irq-storm's fields: a priority the NVIC has, a period of whole µs no
// shorter than a board accepts, a length; each problem named by its field.
func TestIRQStorm(t *testing.T) {
	f, errs := Decode("irq-storm", map[string]any{"priority": 2, "period": "200us", "length": "50ms"})
	require.Empty(t, errs)
	cmd, err := f.Command(nil)
	require.NoError(t, err)
	assert.Equal(t, wire.FaultCmd{Kind: wire.FaultIRQStorm, Priority: 2, Period: 200, Length: 50000}, cmd)

	for _, c := range []struct {
		params map[string]any
		field  string
		says   string
	}{
		{map[string]any{"priority": 8, "period": "200us", "length": "50ms"}, "priority", "from 0 (most urgent) to 7, got 8"},
		{map[string]any{"priority": -1, "period": "200us", "length": "50ms"}, "priority", "got -1"},
		{map[string]any{"priority": 0, "period": "10us", "length": "50ms"}, "period", "at least 20µs"},
		{map[string]any{"priority": 0, "period": "20500ns", "length": "50ms"}, "period", "whole microseconds"},
		{map[string]any{"priority": 0, "period": "1ms", "length": "0s"}, "length", "positive"},
		{map[string]any{"priority": 0, "period": "1ms"}, "length", "positive"},
		{map[string]any{"priority": 0, "period": 200, "length": "50ms"}, "period", "no unit"},
	} {
		_, errs := Decode("irq-storm", c.params)
		require.Len(t, errs, 1, "%v", c.params)
		var fe *FieldError
		require.ErrorAs(t, errs[0], &fe)
		assert.Equal(t, c.field, fe.Field, "%v", c.params)
		assert.Contains(t, errs[0].Error(), c.says)
	}
}

func cycleOf(task string) (time.Duration, time.Duration, bool) {
	if task == "bc_dist" {
		return 125 * time.Millisecond, 2 * time.Millisecond, true
	}
	return 0, 0, false
}

func TestScheduleTimes(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		s    Schedule
		want []time.Duration
	}{
		{"at keeps the listed times inside the run, sorted", Schedule{At: []time.Duration{900 * ms, 100 * ms, 5 * time.Second}}, []time.Duration{100 * ms, 900 * ms}},
		{"every starts one period in", Schedule{Every: 300 * ms}, []time.Duration{300 * ms, 600 * ms, 900 * ms}},
		{"every with a start and a count", Schedule{Every: 300 * ms, Start: 50 * ms, Count: 2}, []time.Duration{50 * ms, 350 * ms}},
		{"phase lands inside bc_dist's cycle", Schedule{Phase: &Phase{Task: "bc_dist", Offset: 10 * ms, Cycles: 3, First: 1}}, []time.Duration{137 * ms, 512 * ms, 887 * ms}},
	} {
		got := tc.s.Times(time.Second, rand.New(rand.NewPCG(1, 2)), cycleOf)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

func TestScheduleJitterAndPoissonArePureFunctionsOfTheSeed(t *testing.T) {
	for _, s := range []Schedule{
		{Every: 100 * time.Millisecond, Jitter: 20 * time.Millisecond},
		{Poisson: 5},
	} {
		a := s.Times(10*time.Second, rand.New(rand.NewPCG(7, 1)), cycleOf)
		b := s.Times(10*time.Second, rand.New(rand.NewPCG(7, 1)), cycleOf)
		c := s.Times(10*time.Second, rand.New(rand.NewPCG(8, 1)), cycleOf)
		assert.Equal(t, a, b)
		assert.NotEqual(t, a, c)
		for i := 1; i < len(a); i++ {
			assert.LessOrEqual(t, a[i-1], a[i])
		}
		if s.Jitter > 0 {
			for i, x := range a {
				nominal := time.Duration(i+1) * s.Every
				assert.InDelta(t, float64(nominal), float64(x), float64(s.Jitter), "firing %d", i)
			}
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{Schedule{}, "needs one of at, every, phase or poisson"},
		{Schedule{Every: time.Second, Poisson: 1}, "give only one"},
		{Schedule{At: []time.Duration{-time.Second}}, "at[0]: negative time"},
		{Schedule{Phase: &Phase{Task: "nobody"}}, `phase.task: unknown task "nobody"`},
		{Schedule{Phase: &Phase{Task: "bc_dist", Offset: 200 * time.Millisecond}}, "phase.offset: 200ms is outside bc_dist's 125ms cycle"},
		{Schedule{Every: time.Second, Jitter: -time.Millisecond}, "jitter: must not be negative"},
	} {
		errs := tc.s.Validate(cycleOf)
		require.NotEmpty(t, errs, tc.want)
		msgs := ""
		for _, e := range errs {
			msgs += e.Error() + "\n"
		}
		assert.Contains(t, msgs, tc.want)
	}
}
