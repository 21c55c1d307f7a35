package analyze

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// faultsUpTo skips the book while nothing can be due (faultsQuiet). Two
// analyzers take the same random streams of uploads, FB events, gaps,
// drops and resets; one has its shortcut cleared before every call, so it
// walks the book each time as before. Their reconciliations must agree
// after every step, the missing list included.
func TestFaultsQuietMatchesFullScan(t *testing.T) {
	var sum FaultCheck
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		// Every other stream on a fine scale (a few µs between events,
		// tolerances and windows of a few µs) so events land exactly on
		// the edges where an expectation becomes late.
		scale := int64(1)
		if seed%2 == 0 {
			scale = 10_000
		}
		quick, full := New(), New()
		both := func(f func(a *Analyzer)) {
			f(quick)
			full.fq = false
			f(full)
			full.fq = false
		}
		both(func(a *Analyzer) { a.SetTable(table("none")) })
		if r.IntN(3) == 0 || scale > 1 {
			tol := int64(r.IntN(20_000)) / scale
			both(func(a *Analyzer) { a.SetFaultTolerance(tol) })
		}
		now, id := int64(0), uint32(0)
		for step := range 400 {
			switch k := r.IntN(20); {
			case k < 4: // uploads, now and then one again
				n := 1 + r.IntN(4)
				for range n {
					fid := id
					if id > 0 && r.IntN(6) == 0 {
						fid = uint32(r.IntN(int(id)))
					} else {
						id++
					}
					at, w := now+(int64(r.IntN(3_000_000))-200_000)/scale, int64(r.IntN(2))*int64(r.IntN(250_000))/scale
					both(func(a *Analyzer) { a.ExpectFault(fid, at, w) })
				}
			case k < 5:
				both(func(a *Analyzer) { goEv(a, now) })
			case k < 8: // an FB: of a planned firing (early, on time, late) or of none
				fid := int64(r.IntN(int(id) + 3))
				both(func(a *Analyzer) { fb(a, now, fid) })
			case k == 8:
				both(func(a *Analyzer) { a.Gap(now) })
			case k == 9:
				ev := wire.Event{Kind: wire.EvDropped, Task: -1, Arg: int64(r.IntN(3))}
				both(func(a *Analyzer) { a.Event(now, &ev) })
			case k == 10 && r.IntN(4) == 0:
				both(func(a *Analyzer) { a.Reset(now) })
			default: // the board's ordinary events as time passes
				ev := wire.Event{Kind: wire.EvRelease, Task: tH}
				if r.IntN(2) == 0 {
					ev = wire.Event{Kind: wire.EvEnd, Task: tH, Arg: 5}
				}
				both(func(a *Analyzer) { a.Event(now, &ev) })
			}
			now += int64(r.IntN(400_000)) / scale
			if q, f := quick.Faults(), full.Faults(); !reflect.DeepEqual(q, f) {
				t.Fatalf("seed %d step %d: with the shortcut %+v, walking the book %+v", seed, step, q, f)
			}
		}
		both(func(a *Analyzer) { a.Finish(now) })
		q, f := quick.Faults(), full.Faults()
		if !reflect.DeepEqual(q, f) {
			t.Fatalf("seed %d after Finish: with the shortcut %+v, walking the book %+v", seed, q, f)
		}
		sum.Begun += q.Begun
		sum.Missing += q.Missing
		sum.Excused += q.Excused
		sum.Unplanned += q.Unplanned
	}
	// The streams reach every outcome.
	if sum.Begun == 0 || sum.Missing == 0 || sum.Excused == 0 || sum.Unplanned == 0 {
		t.Fatalf("the random streams miss an outcome: %+v", sum)
	}
	t.Logf("outcomes over all streams: %d begun, %d missing, %d excused, %d unplanned", sum.Begun, sum.Missing, sum.Excused, sum.Unplanned)
}
