package shrink

import "context"

// DDMin is Zeller and Hildebrandt's minimising delta debugging: given a
// list that fails (test(all) is true) it returns a sub-list that still
// fails and from which no single element can be removed without the
// failure going away (1-minimal), assuming test of the empty list is
// false. Items keep their order. DDMin may ask for a sub-list it asked for
// before (after a reduction the new parts can repeat old ones): the
// Shrinker answers those from its cache, so no trial is repeated.
func DDMin(ctx context.Context, items []int, testOf func(context.Context, []int) (bool, error)) ([]int, error) {
	var test func(context.Context, []int) (bool, error)
	c := append([]int(nil), items...)
	n := 2
	test = func(ctx context.Context, sub []int) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		return testOf(ctx, sub)
	}
	for len(c) >= 2 {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		parts := split(c, n)
		reduced := false
		// Reduce to a subset.
		for _, p := range parts {
			ok, err := test(ctx, p)
			if err != nil {
				return c, err
			}
			if ok {
				c, n, reduced = p, 2, true
				break
			}
		}
		// Reduce to a complement (with n == 2 the complements are the
		// subsets just tried).
		if !reduced && n > 2 {
			for i := range parts {
				comp := complement(parts, i)
				ok, err := test(ctx, comp)
				if err != nil {
					return c, err
				}
				if ok {
					c, n, reduced = comp, max(n-1, 2), true
					break
				}
			}
		}
		if !reduced {
			if n >= len(c) {
				break
			}
			n = min(2*n, len(c))
		}
	}
	return c, nil
}

// split cuts c into n parts of near-equal size, in order.
func split(c []int, n int) [][]int {
	out := make([][]int, 0, n)
	start := 0
	for i := 0; i < n; i++ {
		end := start + (len(c)-start)/(n-i)
		out = append(out, c[start:end])
		start = end
	}
	return out
}

// complement is every part but parts[skip], concatenated in order.
func complement(parts [][]int, skip int) []int {
	var out []int
	for i, p := range parts {
		if i != skip {
			out = append(out, p...)
		}
	}
	return out
}

// BisectMin returns the smallest i in (lo, hi] for which test(i) is true,
// given that test(hi) is true and that test is monotone (false below some
// edge, true from it). lo itself is assumed false and never tested.
func BisectMin(ctx context.Context, lo, hi int64, test func(context.Context, int64) (bool, error)) (int64, error) {
	for hi-lo > 1 {
		if err := ctx.Err(); err != nil {
			return hi, err
		}
		mid := lo + (hi-lo)/2
		ok, err := test(ctx, mid)
		if err != nil {
			return hi, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
