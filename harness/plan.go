package harness

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// PlannedFault is one firing of one campaign fault in one run.
type PlannedFault struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	At   int64  `json:"at_us"` // run time, µs after the run started

	spec *FaultSpec
}

// RunPlan is everything one run does, fixed before it starts: its seed,
// its length and its faults. The firing times are not in it: a phase
// schedule is aligned to a task of the board's own table, which the board
// declares only when it boots, so Firings turns the plan into times given
// that table. Nothing here grows with the run's length.
type RunPlan struct {
	Index    int
	Seed     uint64
	Duration time.Duration
	Sweep    *SweepPoint // the sweep value this run uses, if the campaign sweeps

	specs []FaultSpec // the campaign's faults, the sweep value applied
}

// RunSeed derives run index i's seed from the campaign seed.
func RunSeed(seed uint64, i int) uint64 {
	// splitmix64 of (seed, i): neighbouring indices give unrelated seeds.
	z := seed + uint64(i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Plan expands a campaign into its runs. It is a pure function of the
// campaign: the same file and seed always give the same plan. It holds
// c.Runs() plans: use PlanAt to go through a long campaign one run at a
// time.
func Plan(c *Campaign) []RunPlan {
	runs := make([]RunPlan, c.Runs())
	for i := range runs {
		runs[i] = c.PlanAt(i)
	}
	return runs
}

// PlanAt is the plan at position i of the campaign's run list (what
// Plan(c)[i] is), computed on its own.
func (c *Campaign) PlanAt(i int) RunPlan {
	if s := c.Sweep; s != nil {
		return planSweep(c, s.Values[i/s.PerValue], i%s.PerValue)
	}
	return PlanRun(c, i)
}

// PlanRun plans run i of c.
func PlanRun(c *Campaign, i int) RunPlan {
	return RunPlan{Index: i, Seed: RunSeed(c.Seed, i), Duration: c.Duration, specs: c.Faults}
}

// Firings streams the run's fault firings in time order, phased against
// cycle (the task table of the board that runs it). The same plan and
// table always give the same firings; ids count from 0 in firing order.
func (p *RunPlan) Firings(cycle faults.Cycle) *Firings {
	f := &Firings{}
	for fi := range p.specs {
		spec := &p.specs[fi]
		if idle, ok := spec.Fault.(faults.Idler); ok && idle.Idle() {
			continue
		}
		rng := rand.New(rand.NewPCG(p.Seed, uint64(fi)+1))
		h := &firingHead{spec: spec, order: fi, st: spec.Schedule.Stream(p.Duration, rng, cycle)}
		if h.advance() {
			f.heads = append(f.heads, h)
		}
	}
	heap.Init(&f.heads)
	return f
}

// TableCycle reads a task's period and first release from a board's table.
func TableCycle(tbl *wire.Table) faults.Cycle {
	return func(task string) (time.Duration, time.Duration, bool) {
		for _, t := range tbl.Tasks {
			if t.Name == task {
				return time.Duration(t.Period) * time.Microsecond, time.Duration(t.Offset) * time.Microsecond, true
			}
		}
		return 0, 0, false
	}
}

// All materialises every firing: for tests and short runs only.
func (f *Firings) All() []PlannedFault {
	var out []PlannedFault
	for {
		pf, ok := f.Next()
		if !ok {
			return out
		}
		out = append(out, pf)
	}
}

// Firings yields one run's fault firings in time order, generating each
// when it is asked for: the memory a run's plan takes is one pending
// firing per campaign fault, however long the run.
type Firings struct {
	heads  firingHeap
	nextID uint32
}

// Next returns the next firing, or false when the run has no more.
func (f *Firings) Next() (PlannedFault, bool) {
	if len(f.heads) == 0 {
		return PlannedFault{}, false
	}
	h := f.heads[0]
	pf := PlannedFault{ID: f.nextID, Name: h.spec.Name, Kind: h.spec.Kind, At: int64(h.at / time.Microsecond), spec: h.spec}
	f.nextID++
	if h.advance() {
		heap.Fix(&f.heads, 0)
	} else {
		heap.Pop(&f.heads)
	}
	return pf, true
}

// firingHead is the next firing of one campaign fault.
type firingHead struct {
	spec  *FaultSpec
	order int // the fault's place in the campaign: ties fire in file order
	st    *faults.Stream
	at    time.Duration
}

func (h *firingHead) advance() bool {
	t, ok := h.st.Next()
	h.at = t
	return ok
}

type firingHeap []*firingHead

func (h firingHeap) Len() int { return len(h) }
func (h firingHeap) Less(i, j int) bool {
	// Whole microseconds, as the plan records them: two faults in the
	// same microsecond fire in file order.
	ai, aj := h[i].at/time.Microsecond, h[j].at/time.Microsecond
	if ai != aj {
		return ai < aj
	}
	return h[i].order < h[j].order
}
func (h firingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *firingHeap) Push(x any)   { *h = append(*h, x.(*firingHead)) }
func (h *firingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
