package harness

import (
	"math/rand/v2"
	"sort"
	"time"

	"github.com/hilchaos/hilchaos/faults"
)

// PlannedFault is one firing of one campaign fault in one run.
type PlannedFault struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	At   int64  `json:"at_us"` // run time, µs after the run started

	spec *FaultSpec
}

// RunPlan is everything one run does, fixed before it starts.
type RunPlan struct {
	Index    int
	Seed     uint64
	Duration time.Duration
	Faults   []PlannedFault
	Sweep    *SweepPoint // the sweep value this run uses, if the campaign sweeps
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
// campaign: the same file and seed always give the same plan.
func Plan(c *Campaign) []RunPlan {
	if c.Sweep != nil {
		var runs []RunPlan
		for _, v := range c.Sweep.Values {
			for r := 0; r < c.Sweep.PerValue; r++ {
				runs = append(runs, planSweep(c, v, r))
			}
		}
		return runs
	}
	runs := make([]RunPlan, c.Repeat)
	for i := range runs {
		runs[i] = PlanRun(c, i)
	}
	return runs
}

// PlanRun plans run i of c.
func PlanRun(c *Campaign, i int) RunPlan {
	rp := RunPlan{Index: i, Seed: RunSeed(c.Seed, i), Duration: c.Duration}
	for fi := range c.Faults {
		f := &c.Faults[fi]
		if idle, ok := f.Fault.(faults.Idler); ok && idle.Idle() {
			continue
		}
		rng := rand.New(rand.NewPCG(rp.Seed, uint64(fi)+1))
		for _, t := range f.Schedule.Times(c.Duration, rng, c.cycle) {
			rp.Faults = append(rp.Faults, PlannedFault{Name: f.Name, Kind: f.Kind, At: int64(t / time.Microsecond), spec: f})
		}
	}
	sort.SliceStable(rp.Faults, func(a, b int) bool { return rp.Faults[a].At < rp.Faults[b].At })
	for k := range rp.Faults {
		rp.Faults[k].ID = uint32(k)
	}
	return rp
}
