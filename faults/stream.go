package faults

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"time"
)

// Stream yields a schedule's firing times in order, one at a time, so a
// plan for a million hours takes no more memory than a plan for a second.
// It gives exactly the times Times returns, drawing from rng in the same
// order.
type Stream struct {
	s      *Schedule
	length time.Duration
	rng    *rand.Rand
	cycle  Cycle

	accepted int // firings kept so far (Count caps it)
	ended    bool

	// at: the sorted list of an At schedule.
	at []time.Duration
	// every/phase: the next base time and its step.
	base, step time.Duration
	// pending: drawn but not yet yielded (jitter can reorder neighbours).
	pending durHeap
}

// Stream returns the schedule's firings in [0, length) in ascending order.
// cycle resolves a phase schedule's task against the board's table; rng is
// the fault's own random source.
func (s *Schedule) Stream(length time.Duration, rng *rand.Rand, cycle Cycle) *Stream {
	st := &Stream{s: s, length: length, rng: rng, cycle: cycle}
	switch {
	case len(s.At) > 0:
		for _, t := range s.At {
			if t >= 0 && t < length && !st.full() {
				st.at = append(st.at, t)
				st.accepted++
			}
		}
		slices.Sort(st.at)
	case s.Every > 0:
		st.base, st.step = s.Start, s.Every
		if st.base == 0 {
			st.base = s.Every
		}
	case s.Phase != nil:
		period, offset, ok := cycle(s.Phase.Task)
		if !ok || period <= 0 {
			st.ended = true
			break
		}
		st.step = time.Duration(max(s.Phase.Cycles, 1)) * period
		st.base = offset + time.Duration(s.Phase.First)*period + s.Phase.Offset
	case s.Poisson > 0:
	default:
		st.ended = true
	}
	return st
}

func (st *Stream) full() bool { return st.s.Count > 0 && st.accepted >= st.s.Count }

func (st *Stream) jitter(t time.Duration) time.Duration {
	j := st.s.Jitter
	if j <= 0 {
		return t
	}
	return t + time.Duration(st.rng.Int64N(int64(2*j)+1)) - j
}

// Next returns the next firing time, or false when there is none left.
func (st *Stream) Next() (time.Duration, bool) {
	s := st.s
	switch {
	case len(s.At) > 0:
		if len(st.at) == 0 {
			return 0, false
		}
		t := st.at[0]
		st.at = st.at[1:]
		return t, true
	case s.Poisson > 0:
		if st.ended || st.full() {
			return 0, false
		}
		mean := float64(time.Second) / s.Poisson
		st.base += time.Duration(st.rng.ExpFloat64() * mean)
		if st.base >= st.length {
			st.ended = true
			return 0, false
		}
		st.accepted++
		return st.base, true
	}
	// Every and phase: a firing drawn from base b lies in [b-J, b+J], so
	// the smallest pending one is final once the next base minus J is past
	// it.
	for !st.ended && !st.full() && (st.pending.Len() == 0 || st.base-s.Jitter <= st.pending[0]) {
		if st.base >= st.length {
			st.ended = true
			break
		}
		t := st.jitter(st.base)
		st.base += st.step
		if t >= 0 && t < st.length {
			heap.Push(&st.pending, t)
			st.accepted++
		}
	}
	if st.pending.Len() == 0 {
		return 0, false
	}
	return heap.Pop(&st.pending).(time.Duration), true
}

type durHeap []time.Duration

func (h durHeap) Len() int           { return len(h) }
func (h durHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h durHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *durHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *durHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
