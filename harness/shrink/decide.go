package shrink

import (
	"errors"
	"fmt"
	"math"
)

// Mode is how many trials decide whether a candidate reproduces.
type Mode string

const (
	// Once runs one trial per candidate: for deterministic targets (the
	// simulator, QEMU with -icount), where a second trial would repeat
	// the first bit for bit.
	Once Mode = "once"
	// SPRT runs Wald's sequential probability ratio test: trials until
	// the evidence for "reproduces with probability P1" against "with
	// probability P0" crosses a threshold set by Alpha and Beta.
	SPRT Mode = "sprt"
	// KofN runs up to N trials and says "reproduces" when K of them do,
	// stopping as soon as the answer is certain.
	KofN Mode = "k-of-n"
)

// Decision configures the judging of a candidate.
type Decision struct {
	Mode Mode
	// SPRT: the hypotheses and the error rates. Alpha is the chance of
	// keeping a candidate that reproduces only with probability P0 (a
	// schedule that fails by luck); Beta of rejecting one that reproduces
	// with probability P1.
	P0, P1      float64
	Alpha, Beta float64
	// MaxTrials caps the SPRT's trials of one candidate; a candidate
	// still undecided there counts as not reproducing (the shrink then
	// keeps the larger schedule, which is known to fail).
	MaxTrials int
	// KofN: K reproductions needed out of at most N trials.
	K, N int
	// Seeds (Once): a deterministic target's trial is repeated with this
	// many seeds (the run's and Seeds-1 derived from it), and every one
	// must reproduce. On the simulator the seed draws the execution
	// times: a schedule that fails for one seed only is not a regression
	// test worth keeping. 0 means 1.
	Seeds int
	// Confirm (Once): fresh seeds, never used to judge, on which the
	// shrunk schedule must fail too before it is kept. A minimal sub-list
	// or parameter edge that holds only for the judging seeds is backed
	// off toward the original until it holds on these (docs/SHRINK.md).
	Confirm int
}

// ConfirmRep is the first repetition number of the confirmation trials:
// far from the judging repetitions, so the two never share a seed.
const ConfirmRep = 1 << 20

// DefaultSPRT is the sequential test docs/SHRINK.md describes.
var DefaultSPRT = Decision{Mode: SPRT, P0: 0.1, P1: 0.9, Alpha: 0.05, Beta: 0.05, MaxTrials: 20}

// Validate reports a decision that cannot work.
func (d Decision) Validate() error {
	switch d.Mode {
	case Once:
		if d.Seeds < 0 || d.Confirm < 0 {
			return fmt.Errorf("once: seeds and confirm must not be negative, got %d and %d", d.Seeds, d.Confirm)
		}
		if d.Seeds+2*d.Confirm >= ConfirmRep {
			return fmt.Errorf("once: %d seeds and %d confirmations are too many", d.Seeds, d.Confirm)
		}
		return nil
	case SPRT:
		var errs []error
		if !(d.P0 > 0 && d.P0 < d.P1 && d.P1 < 1) {
			errs = append(errs, fmt.Errorf("sprt: want 0 < p0 < p1 < 1, got p0=%v p1=%v", d.P0, d.P1))
		}
		if !(d.Alpha > 0 && d.Alpha < 0.5) || !(d.Beta > 0 && d.Beta < 0.5) {
			errs = append(errs, fmt.Errorf("sprt: want 0 < alpha, beta < 0.5, got alpha=%v beta=%v", d.Alpha, d.Beta))
		}
		if d.MaxTrials < 1 {
			errs = append(errs, fmt.Errorf("sprt: max trials per candidate must be at least 1, got %d", d.MaxTrials))
		}
		return errors.Join(errs...)
	case KofN:
		if d.N < 1 || d.K < 1 || d.K > d.N {
			return fmt.Errorf("k-of-n: want 1 <= k <= n, got k=%d n=%d", d.K, d.N)
		}
		return nil
	}
	return fmt.Errorf("unknown trial mode %q (known: once, sprt, k-of-n)", d.Mode)
}

// Thresholds returns the SPRT's log-likelihood-ratio bounds: accept
// "reproduces" at or above ln A, "does not" at or below ln B, where
// A = (1-Beta)/Alpha and B = Beta/(1-Alpha).
func (d Decision) Thresholds() (lnA, lnB float64) {
	return math.Log((1 - d.Beta) / d.Alpha), math.Log(d.Beta / (1 - d.Alpha))
}

// verdict of a sequence of trials.
type verdict int

const (
	undecided verdict = iota
	yes
	no
)

// decide judges the trials so far (true: the trial reproduced).
func (d Decision) decide(trials []bool) verdict {
	n := len(trials)
	if n == 0 {
		return undecided
	}
	succ := 0
	for _, t := range trials {
		if t {
			succ++
		}
	}
	switch d.Mode {
	case Once:
		if succ < n {
			return no
		}
		if n >= max(d.Seeds, 1) {
			return yes
		}
		return undecided
	case KofN:
		if succ >= d.K {
			return yes
		}
		if n-succ > d.N-d.K {
			return no
		}
		return undecided
	}
	// SPRT.
	up := math.Log(d.P1 / d.P0)
	down := math.Log((1 - d.P1) / (1 - d.P0))
	llr := float64(succ)*up + float64(n-succ)*down
	lnA, lnB := d.Thresholds()
	switch {
	case llr >= lnA:
		return yes
	case llr <= lnB:
		return no
	case n >= d.MaxTrials:
		return no
	}
	return undecided
}

// OC is the decision's operating characteristic for a candidate that
// reproduces on each trial independently with probability p: the chance
// it is judged "reproduces", and the expected number of trials the
// judgement takes. It is computed exactly over every trial sequence (the
// decisions depend only on the counts), for the tables in docs/SHRINK.md.
func (d Decision) OC(p float64) (accept, meanTrials float64) {
	// prob[s] is the chance of being undecided after n trials with s
	// reproductions.
	prob := map[int]float64{0: 1}
	for n := 0; len(prob) > 0; n++ {
		next := map[int]float64{}
		for s, q := range prob {
			for _, hit := range []bool{true, false} {
				pq, s2 := q*(1-p), s
				if hit {
					pq, s2 = q*p, s+1
				}
				if pq == 0 {
					continue
				}
				trials := make([]bool, n+1)
				for i := 0; i < s2; i++ {
					trials[i] = true
				}
				switch d.decide(trials) {
				case yes:
					accept += pq
					meanTrials += pq * float64(n+1)
				case no:
					meanTrials += pq * float64(n+1)
				default:
					next[s2] += pq
				}
			}
		}
		prob = next
	}
	return accept, meanTrials
}
