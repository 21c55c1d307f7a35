package shrink

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contains reports whether sub holds every one of want.
func containsAll(sub []int, want ...int) bool {
	for _, w := range want {
		if !slices.Contains(sub, w) {
			return false
		}
	}
	return true
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// countingTest wraps a predicate, counting calls and distinct sub-lists.
type countingTest struct {
	pred  func([]int) bool
	calls int
	seen  map[string]int
}

func (c *countingTest) test(_ context.Context, sub []int) (bool, error) {
	c.calls++
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[fmt.Sprint(sub)]++
	return c.pred(sub), nil
}

func TestDDMinKnownMinimalSets(t *testing.T) {
	cases := []struct {
		name string
		n    int
		pred func([]int) bool
		want []int
	}{
		{"one culprit", 100, func(s []int) bool { return containsAll(s, 37) }, []int{37}},
		{"first element", 64, func(s []int) bool { return containsAll(s, 0) }, []int{0}},
		{"last element", 64, func(s []int) bool { return containsAll(s, 63) }, []int{63}},
		{"two-element interaction far apart", 120, func(s []int) bool { return containsAll(s, 3, 77) }, []int{3, 77}},
		{"two-element interaction adjacent", 120, func(s []int) bool { return containsAll(s, 40, 41) }, []int{40, 41}},
		{"three-element interaction", 50, func(s []int) bool { return containsAll(s, 2, 25, 49) }, []int{2, 25, 49}},
		{"needs them all", 5, func(s []int) bool { return len(s) == 5 }, []int{0, 1, 2, 3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := &countingTest{pred: tc.pred}
			got, err := DDMin(context.Background(), seq(tc.n), ct.test)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			// 1-minimal: without any one element the failure goes.
			for i := range got {
				without := slices.Delete(slices.Clone(got), i, i+1)
				assert.False(t, tc.pred(without), "removing %d still fails", got[i])
			}
			t.Logf("%s: %d tests", tc.name, ct.calls)
		})
	}
}

func TestDDMinDisjunctionKeepsOne(t *testing.T) {
	// Either 10 or 90 alone makes it fail: ddmin keeps exactly one.
	pred := func(s []int) bool { return slices.Contains(s, 10) || slices.Contains(s, 90) }
	got, err := DDMin(context.Background(), seq(100), (&countingTest{pred: pred}).test)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Contains(t, []int{10, 90}, got[0])
}

func TestDDMinTestCountIsLogarithmicForOneCulprit(t *testing.T) {
	ct := &countingTest{pred: func(s []int) bool { return slices.Contains(s, 700) }}
	_, err := DDMin(context.Background(), seq(1024), ct.test)
	require.NoError(t, err)
	// Halving: two tests per level at most, ten levels.
	assert.LessOrEqual(t, ct.calls, 20)
}

func TestDDMinStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ct := &countingTest{pred: func(s []int) bool { return containsAll(s, 3, 77) }}
	n := 0
	_, err := DDMin(ctx, seq(120), func(ctx context.Context, s []int) (bool, error) {
		n++
		if n == 3 {
			cancel()
		}
		return ct.test(ctx, s)
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, n, 4)
}

func TestBisectMin(t *testing.T) {
	for _, edge := range []int64{1, 2, 17, 63, 64} {
		calls := 0
		got, err := BisectMin(context.Background(), 0, 64, func(_ context.Context, v int64) (bool, error) {
			calls++
			return v >= edge, nil
		})
		require.NoError(t, err)
		assert.Equal(t, edge, got)
		assert.LessOrEqual(t, calls, 6, "edge %d", edge) // log2(64)
	}
	// A predicate that never holds below hi leaves hi.
	got, err := BisectMin(context.Background(), 0, 10, func(context.Context, int64) (bool, error) { return false, nil })
	require.NoError(t, err)
	assert.Equal(t, int64(10), got)
}
