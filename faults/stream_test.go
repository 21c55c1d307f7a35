package faults

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestStreamMatchesTimes: the lazy stream yields exactly what Times
// materialises, for every schedule kind, with jitter that reorders
// neighbouring firings, caps and starts.
func TestStreamMatchesTimes(t *testing.T) {
	cycle := func(task string) (time.Duration, time.Duration, bool) {
		switch task {
		case "fast":
			return 10 * time.Millisecond, 3 * time.Millisecond, true
		case "slow":
			return 250 * time.Millisecond, 90 * time.Millisecond, true
		case "sporadic":
			return 0, 0, true
		}
		return 0, 0, false
	}
	gen := rand.New(rand.NewPCG(1, 2))
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for i := 0; i < 400; i++ {
		var s Schedule
		switch i % 4 {
		case 0:
			for k := gen.IntN(6); k > 0; k-- {
				s.At = append(s.At, ms(gen.IntN(3000)-100))
			}
		case 1:
			s.Every = ms(1 + gen.IntN(50))
			s.Start = ms(gen.IntN(20))
			s.Jitter = ms(gen.IntN(80)) // often more than the period: firings cross
		case 2:
			s.Phase = &Phase{Task: []string{"fast", "slow", "sporadic", "none"}[gen.IntN(4)], Offset: ms(gen.IntN(5)), Cycles: gen.IntN(4), First: gen.IntN(3)}
			s.Jitter = ms(gen.IntN(30))
		case 3:
			s.Poisson = float64(1 + gen.IntN(200))
		}
		if gen.IntN(3) == 0 {
			s.Count = 1 + gen.IntN(20)
		}
		length := ms(1 + gen.IntN(3000))
		seed := gen.Uint64()
		want := s.Times(length, rand.New(rand.NewPCG(seed, 1)), cycle)
		st := s.Stream(length, rand.New(rand.NewPCG(seed, 1)), cycle)
		var got []time.Duration
		for {
			x, ok := st.Next()
			if !ok {
				break
			}
			got = append(got, x)
		}
		if len(got) != len(want) {
			t.Fatalf("case %d %+v: stream gave %d firings, Times %d", i, s, len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("case %d %+v: firing %d: stream %v, Times %v", i, s, k, got[k], want[k])
			}
		}
	}
}

// TestStreamLazy: a schedule over a million hours yields its first firing
// without drawing the rest (the pending set stays small).
func TestStreamLazy(t *testing.T) {
	s := Schedule{Every: time.Millisecond, Jitter: 5 * time.Millisecond}
	st := s.Stream(1_000_000*time.Hour, rand.New(rand.NewPCG(1, 1)), nil)
	for k := 0; k < 1000; k++ {
		if _, ok := st.Next(); !ok {
			t.Fatal("stream ended early")
		}
		if st.pending.Len() > 20 {
			t.Fatalf("after %d firings %d are pending: the stream is not lazy", k, st.pending.Len())
		}
	}
}
