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

// FuzzStreamMatchesTimes: for any schedule a campaign can write, the lazy
// stream yields exactly the materialised times, in order.
func FuzzStreamMatchesTimes(f *testing.F) {
	f.Add(uint8(1), int64(5), int64(0), int64(7), uint16(2), uint8(3), uint8(1), int64(1000), uint64(1))
	f.Add(uint8(2), int64(0), int64(0), int64(30), uint16(0), uint8(0), uint8(0), int64(2000), uint64(9))
	f.Add(uint8(3), int64(0), int64(0), int64(0), uint16(50), uint8(0), uint8(0), int64(3000), uint64(3))
	f.Fuzz(func(t *testing.T, kind uint8, every, start, jitter int64, count uint16, cycles, first uint8, lengthMS int64, seed uint64) {
		ms := func(n int64) time.Duration { return time.Duration(n%100_000) * time.Millisecond }
		s := Schedule{Count: int(count % 64)}
		switch kind % 4 {
		case 0:
			for k := int64(0); k < int64(count%8); k++ {
				s.At = append(s.At, ms(every*k+start))
			}
		case 1:
			s.Every = ms(every%500) + time.Millisecond
			if s.Every < 0 {
				s.Every = -s.Every + time.Millisecond
			}
			s.Start = max(ms(start%100), 0)
			s.Jitter = max(ms(jitter%300), 0)
		case 2:
			s.Phase = &Phase{Task: "t", Offset: max(ms(start%10), 0), Cycles: int(cycles % 5), First: int(first % 4)}
			s.Jitter = max(ms(jitter%100), 0)
		case 3:
			s.Poisson = float64(1 + count%300)
		}
		if len(s.Validate(func(string) (time.Duration, time.Duration, bool) {
			return 10 * time.Millisecond, 3 * time.Millisecond, true
		})) > 0 {
			return
		}
		cycle := func(string) (time.Duration, time.Duration, bool) {
			return 10 * time.Millisecond, 3 * time.Millisecond, true
		}
		length := ms(lengthMS%20_000) + time.Millisecond
		if length <= 0 {
			return
		}
		want := s.Times(length, rand.New(rand.NewPCG(seed, 1)), cycle)
		st := s.Stream(length, rand.New(rand.NewPCG(seed, 1)), cycle)
		for i := 0; ; i++ {
			x, ok := st.Next()
			if !ok {
				if i != len(want) {
					t.Fatalf("%+v: stream ended after %d firings, Times has %d", s, i, len(want))
				}
				return
			}
			if i >= len(want) || x != want[i] {
				t.Fatalf("%+v: firing %d: stream %v, Times %v", s, i, x, want)
			}
		}
	})
}
