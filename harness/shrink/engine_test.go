package shrink

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sig = "reset:watchdog blocked=bc_dist@bus"

// pathfinderLike is a schedule of 20 lock holds and 20 bursts, once a
// second, like the Pathfinder campaign's.
func pathfinderLike() Candidate {
	var c Candidate
	for i := 0; i < 20; i++ {
		base := int64(i)*1_000_000 + 90_000
		c.Firings = append(c.Firings,
			Firing{Name: "hold", Kind: "lock-hold", AtUS: base, Params: map[string]any{"task": "asi_met", "lock": "bus", "extra": "25ms"}},
			Firing{Name: "burst", Kind: "load-burst", AtUS: base + 4_000 + int64(i*37%3000), Params: map[string]any{"priority": 5, "length": "110ms"}})
	}
	c.DurationUS = 20_000_000
	return c
}

func dur(v any) time.Duration {
	d, err := time.ParseDuration(v.(string))
	if err != nil {
		panic(err)
	}
	return d
}

func hash64(parts ...any) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, parts...)
	return h.Sum64()
}

// world is a synthetic board: it fails at 200 ms after the first second
// whose hold has extra >= minExtra(rep) and whose burst (in the same
// second) has length >= minLength(rep) and priority >= 3, provided the
// run lasts that long. A burst alone fails on the seeds where lone(rep).
type world struct {
	minExtra, minLength func(rep int) time.Duration
	lone                func(rep int) bool
	mask                float64 // chance a failing trial looks like a pass (a flaky board)
	seed                uint64

	mu    sync.Mutex
	ran   int
	runs  map[string]int // candidate key and rep -> times run
	after int            // cancel after this many runs (0: never)
	stop  context.CancelFunc
}

func (w *world) Trial(ctx context.Context, c Candidate, rep int) (Outcome, error) {
	w.mu.Lock()
	w.ran++
	if w.runs == nil {
		w.runs = map[string]int{}
	}
	w.runs[fmt.Sprintf("%s/%d", c.Key(), rep)]++
	if w.after > 0 && w.ran == w.after {
		w.stop()
	}
	w.mu.Unlock()
	out := Outcome{BoardUS: c.DurationUS, FailAtUS: -1}
	at := int64(-1)
	for _, h := range c.Firings {
		if h.Kind != "load-burst" {
			continue
		}
		sec := h.AtUS / 1_000_000
		pri, _ := toInt(h.Params["priority"])
		if pri < 3 || dur(h.Params["length"]) < w.minLength(rep) {
			continue
		}
		held := false
		for _, f := range c.Firings {
			if f.Kind == "lock-hold" && f.AtUS/1_000_000 == sec && f.AtUS < h.AtUS && dur(f.Params["extra"]) >= w.minExtra(rep) {
				held = true
			}
		}
		if held || (w.lone != nil && w.lone(rep)) {
			at = sec*1_000_000 + 290_000
			break
		}
	}
	if at >= 0 && at < c.DurationUS {
		out.Failed, out.Signature, out.FailAtUS = true, sig, at
		if w.mask > 0 && rand.New(rand.NewPCG(w.seed, hash64(c.Key(), rep))).Float64() < w.mask {
			out = Outcome{BoardUS: c.DurationUS, FailAtUS: -1}
		}
	}
	return out, nil
}

func fixed(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

func TestShrinkDeterministic(t *testing.T) {
	w := &world{minExtra: fixed(5 * time.Millisecond), minLength: fixed(30 * time.Millisecond)}
	s := &Shrinker{Oracle: w, Decision: Decision{Mode: Once}}
	res, err := s.Shrink(context.Background(), pathfinderLike(), sig)
	require.NoError(t, err)
	require.Len(t, res.Shrunk.Firings, 2)
	hold, burst := res.Shrunk.Firings[0], res.Shrunk.Firings[1]
	assert.Equal(t, "hold", hold.Name)
	assert.Equal(t, int64(90_000), hold.AtUS, "the first second's pair: the prefix keeps nothing after the failure")
	assert.Equal(t, "5ms", hold.Params["extra"])
	assert.Equal(t, "30ms", burst.Params["length"])
	assert.Equal(t, 3, burst.Params["priority"])
	assert.Equal(t, int64(800_000), res.Shrunk.DurationUS, "failure at 290ms + 500ms margin, rounded up to 100ms")
	assert.True(t, res.Minimal)
	assert.Equal(t, res.Trials, w.ran)
	for k, n := range w.runs {
		assert.Equal(t, 1, n, "trial %s ran %d times", k, n)
	}
	t.Logf("%d trials", res.Trials)
	assert.LessOrEqual(t, res.Trials, 40)
}

func TestShrinkNotReproduced(t *testing.T) {
	w := &world{minExtra: fixed(time.Hour), minLength: fixed(time.Hour)}
	s := &Shrinker{Oracle: w, Decision: Decision{Mode: Once}}
	_, err := s.Shrink(context.Background(), pathfinderLike(), sig)
	assert.ErrorIs(t, err, ErrNotReproduced)
	assert.Equal(t, 1, w.ran)
}

func TestShrinkBudget(t *testing.T) {
	w := &world{minExtra: fixed(5 * time.Millisecond), minLength: fixed(30 * time.Millisecond)}
	s := &Shrinker{Oracle: w, Decision: Decision{Mode: Once}, Budget: Budget{Trials: 4}}
	res, err := s.Shrink(context.Background(), pathfinderLike(), sig)
	require.ErrorIs(t, err, ErrBudget)
	assert.True(t, res.Exhausted)
	assert.False(t, res.Minimal)
	assert.Equal(t, 4, w.ran)
	// What it kept still fails.
	o, _ := w.Trial(context.Background(), res.Shrunk, 0)
	assert.True(t, o.Failed)
	assert.Less(t, res.Shrunk.Size(), 40)

	// A board-time budget: the first trial uses 20 s.
	w = &world{minExtra: fixed(5 * time.Millisecond), minLength: fixed(30 * time.Millisecond)}
	s = &Shrinker{Oracle: w, Decision: Decision{Mode: Once}, Budget: Budget{Board: 21 * time.Second}}
	_, err = s.Shrink(context.Background(), pathfinderLike(), sig)
	require.ErrorIs(t, err, ErrBudget)
	assert.LessOrEqual(t, w.ran, 2+21*10/8) // 20 s, then 0.8 s trials
}

// TestShrinkResume kills the shrink after k trials (the context is
// cancelled from inside the k-th trial, as a SIGKILL would leave it: that
// trial's answer is never logged) and starts it again on the same log: it
// ends with the same result, and no trial answered before the kill runs
// again.
func TestShrinkResume(t *testing.T) {
	mk := func() *world {
		return &world{minExtra: fixed(5 * time.Millisecond), minLength: fixed(30 * time.Millisecond)}
	}
	dec := Decision{Mode: Once, Seeds: 2, Confirm: 3}
	whole := mk()
	want, err := (&Shrinker{Oracle: whole, Decision: dec, Salt: "x"}).Shrink(context.Background(), pathfinderLike(), sig)
	require.NoError(t, err)

	for _, k := range []int{1, 2, 5, 9, whole.ran - 1} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shrink", LogFile)
			ctx, cancel := context.WithCancel(context.Background())
			first := mk()
			first.after, first.stop = k, cancel
			log, err := OpenLog(path)
			require.NoError(t, err)
			_, err = (&Shrinker{Oracle: first, Decision: dec, Log: log, Salt: "x"}).Shrink(ctx, pathfinderLike(), sig)
			require.ErrorIs(t, err, context.Canceled)
			require.NoError(t, log.Close())
			require.Equal(t, k, first.ran)

			second := mk()
			log, err = OpenLog(path)
			require.NoError(t, err)
			defer log.Close()
			assert.Equal(t, k, log.Len(), "every trial before the kill is in the log (the k-th finished before its answer was read)")
			got, err := (&Shrinker{Oracle: second, Decision: dec, Log: log, Salt: "x"}).Shrink(context.Background(), pathfinderLike(), sig)
			require.NoError(t, err)
			assert.Equal(t, want.Shrunk, got.Shrunk)
			assert.Equal(t, want.Trials, got.Trials)
			assert.Equal(t, want.Trials-k, got.Ran)
			for key := range second.runs {
				assert.Zero(t, first.runs[key], "trial %s ran before the kill and again after", key)
			}
			assert.Equal(t, whole.ran, first.ran+second.ran)
		})
	}
}

// TestShrinkFlakySPRT: a board that hides a failure one time in five.
// The SPRT shrink still ends with a schedule that fails (the underlying
// rule holds), over several seeds, and that schedule reproduces at the
// rate the board allows (0.8) on fresh trials.
func TestShrinkFlakySPRT(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := &world{minExtra: fixed(5 * time.Millisecond), minLength: fixed(30 * time.Millisecond), mask: 0.2, seed: seed}
			s := &Shrinker{Oracle: w, Decision: DefaultSPRT}
			res, err := s.Shrink(context.Background(), pathfinderLike(), sig)
			require.NoError(t, err)
			hits := 0
			for rep := 1000; rep < 1200; rep++ {
				if o, _ := w.Trial(context.Background(), res.Shrunk, rep); o.Failed {
					hits++
				}
			}
			rate := float64(hits) / 200
			t.Logf("seed %d: %d firings, %d trials, reproduces %.2f", seed, res.Shrunk.Size(), res.Trials, rate)
			assert.GreaterOrEqual(t, rate, 0.7)
			assert.LessOrEqual(t, res.Shrunk.Size(), 4)
		})
	}
}

// TestShrinkConfirmation: a burst alone fails on 7 seeds in 8, and the
// length a burst needs depends on the seed. Judged on few seeds, ddmin
// would keep the lone burst and bisection a length that fails on those
// seeds only; the confirmation seeds send the shrink back to the pair and
// to a length with a margin.
func TestShrinkConfirmation(t *testing.T) {
	w := &world{
		minExtra: fixed(5 * time.Millisecond),
		minLength: func(rep int) time.Duration {
			return 30*time.Millisecond + time.Duration(hash64("len", rep)%20)*time.Millisecond
		},
		lone: func(rep int) bool { return hash64("lone", rep)%8 != 0 },
	}
	s := &Shrinker{Oracle: w, Decision: Decision{Mode: Once, Seeds: 3, Confirm: 10}}
	res, err := s.Shrink(context.Background(), pathfinderLike(), sig)
	require.NoError(t, err)
	t.Logf("%d trials, %v", res.Trials, res.Shrunk.Firings)
	assert.Empty(t, res.Fragile)
	// On 200 fresh seeds it fails every time.
	for rep := 5000; rep < 5200; rep++ {
		o, _ := w.Trial(context.Background(), res.Shrunk, rep)
		require.True(t, o.Failed, "fresh seed %d", rep)
	}
	require.NotEmpty(t, res.Edges)
}

func TestShrinkEmptyScheduleFails(t *testing.T) {
	o := OracleFunc(func(_ context.Context, c Candidate, _ int) (Outcome, error) {
		return Outcome{Failed: true, Signature: "reset:hang", BoardUS: c.DurationUS, FailAtUS: 1_000_000}, nil
	})
	res, err := (&Shrinker{Oracle: o, Decision: Decision{Mode: Once}}).Shrink(context.Background(), pathfinderLike(), "reset:hang")
	require.NoError(t, err)
	assert.Zero(t, res.Shrunk.Size())
	assert.Equal(t, int64(1_500_000), res.Shrunk.DurationUS)
}

func TestShrinkOracleErrorStops(t *testing.T) {
	boom := errors.New("port gone")
	n := 0
	o := OracleFunc(func(_ context.Context, c Candidate, _ int) (Outcome, error) {
		n++
		if n == 3 {
			return Outcome{}, boom
		}
		return Outcome{Failed: true, Signature: sig, BoardUS: c.DurationUS, FailAtUS: -1}, nil
	})
	_, err := (&Shrinker{Oracle: o, Decision: Decision{Mode: Once}}).Shrink(context.Background(), pathfinderLike(), sig)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, n)
}

// TestShrinkFragileKeepsThePrefix: a board on which any one burst fails
// on the judging seeds but two are needed on every other seed. ddmin's
// single burst does not confirm, not even judged on more seeds, so the
// shrink keeps the prefix it had, says so, and leaves its parameters alone.
func TestShrinkFragileKeepsThePrefix(t *testing.T) {
	o := OracleFunc(func(_ context.Context, c Candidate, rep int) (Outcome, error) {
		bursts := 0
		for _, f := range c.Firings {
			if f.Kind == "load-burst" {
				bursts++
			}
		}
		need := 1
		if rep >= ConfirmRep {
			need = 2
		}
		if bursts >= need && c.DurationUS > 2_500_000 {
			return Outcome{Failed: true, Signature: sig, BoardUS: c.DurationUS, FailAtUS: 2_500_000}, nil
		}
		return Outcome{BoardUS: c.DurationUS, FailAtUS: -1}, nil
	})
	s := &Shrinker{Oracle: o, Decision: Decision{Mode: Once, Seeds: 3, Confirm: 4}}
	res, err := s.Shrink(context.Background(), pathfinderLike(), sig)
	require.NoError(t, err)
	assert.Contains(t, res.Fragile, "did not fail on every confirmation seed")
	assert.False(t, res.Minimal)
	assert.Equal(t, 6, res.Shrunk.Size(), "the prefix: three seconds of hold and burst before the failure at 2.5 s")
	for _, f := range res.Shrunk.Firings {
		if f.Kind == "load-burst" {
			assert.Equal(t, "110ms", f.Params["length"])
		}
	}
	assert.Equal(t, 3, s.Decision.Seeds, "the judging seeds are restored")
}
