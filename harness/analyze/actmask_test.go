package analyze

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// randomTable is a table of 2 to 9 tasks (sometimes the load pseudo-task,
// sometimes a name twice, now and then 70 tasks: past act's 64 places)
// and 1 to 3 locks of random protocols.
func randomTable(r *rand.Rand) *wire.Table {
	var tbl wire.Table
	n := 2 + r.IntN(8)
	if r.IntN(15) == 0 {
		n = 70
	}
	for i := range n {
		ti := wire.TaskInfo{Index: i, Name: fmt.Sprintf("t%d", r.IntN(n+2)), Priority: 1 + r.IntN(10), Period: int64(1 + r.IntN(3)*100), WCET: int64(r.IntN(20))}
		if r.IntN(6) == 0 {
			ti = wire.TaskInfo{Index: i, Name: LoadTask}
		}
		tbl.Tasks = append(tbl.Tasks, ti)
	}
	for i := range 1 + r.IntN(3) {
		tbl.Locks = append(tbl.Locks, wire.LockInfo{Index: i, Name: fmt.Sprintf("l%d", r.IntN(4)),
			Protocol: []string{"none", "inherit", "ceiling"}[r.IntN(3)], Ceiling: r.IntN(12)})
	}
	return &tbl
}

// account and infer walk only the active tasks (Analyzer.act). Two
// analyzers take the same random streams (tables changing at reboots,
// trace levels 1 and 2, every event kind with tasks and locks in and out
// of range, load bursts, gaps, drops and resets); one walks the whole
// index as before (noMask). Their figures, the running task and every
// task's state must agree after every step.
func TestActiveMaskMatchesFullScan(t *testing.T) {
	kinds := []wire.EventKind{wire.EvRelease, wire.EvRelease, wire.EvEnd, wire.EvEnd, wire.EvBlock, wire.EvLock, wire.EvLock,
		wire.EvUnlock, wire.EvUnlock, wire.EvSwitch, wire.EvDeadlineMiss, wire.EvFaultBegin, wire.EvFaultEnd, wire.EvDropped, wire.EvStart, wire.EvPriority}
	var inversions, blocked, preempted int
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 11))
		quick, full := New(), New()
		full.noMask = true
		level := 1 + r.IntN(2)
		for _, a := range []*Analyzer{quick, full} {
			a.SetLevel(level)
			for id := uint32(0); id < 8; id += 2 {
				a.SetFaultPriority(id, 1+int(id))
			}
		}
		tbl := randomTable(r)
		quick.SetTable(tbl)
		full.SetTable(tbl)
		now := int64(0)
		for st := range 500 {
			var ev wire.Event
			switch k := r.IntN(40); {
			case k == 0:
				tbl = randomTable(r)
				quick.Reset(now)
				full.Reset(now)
				quick.SetTable(tbl)
				full.SetTable(tbl)
			case k == 1:
				quick.Gap(now)
				full.Gap(now)
			default:
				ev = wire.Event{Kind: kinds[r.IntN(len(kinds))], Task: int32(r.IntN(len(tbl.Tasks)+1)) - int32(r.IntN(2)), Arg: int64(r.IntN(len(tbl.Locks) + 1))}
				switch ev.Kind {
				case wire.EvEnd:
					ev.Arg = int64(r.IntN(300))
				case wire.EvFaultBegin, wire.EvFaultEnd:
					ev.Arg = int64(r.IntN(10))
				case wire.EvDropped:
					ev.Arg = int64(r.IntN(2))
				case wire.EvSwitch:
					ev.Arg = int64(r.IntN(len(tbl.Tasks)))
				}
				e1, e2 := ev, ev
				quick.Event(now, &e1)
				full.Event(now, &e2)
			}
			now += int64(r.IntN(3)) * int64(r.IntN(40))
			if !sameAnalysis(quick, full, st%25 == 0) {
				t.Fatalf("seed %d step %d (%+v): walking the active tasks and the whole index disagree:\n%+v\n%+v",
					seed, st, ev, quick.Tasks(), full.Tasks())
			}
		}
		quick.Finish(now)
		full.Finish(now)
		if !sameAnalysis(quick, full, true) {
			t.Fatalf("seed %d after Finish: walking the active tasks and the whole index disagree", seed)
		}
		inversions += quick.Inversions
		for _, tk := range quick.Order() {
			if tk.MaxBlocking > 0 {
				blocked++
			}
			preempted += int(tk.Preemptions)
		}
	}
	// The streams reach what account and infer decide.
	if inversions == 0 || blocked == 0 || preempted == 0 {
		t.Fatalf("the random streams show %d inversions, %d tasks blocked, %d preemptions", inversions, blocked, preempted)
	}
	t.Logf("%d inversions, %d tasks that were blocked, %d preemptions", inversions, blocked, preempted)
}

// sameAnalysis compares what two analyzers fed the same input show: the
// schedule state of every task, and with figures their figures too.
func sameAnalysis(a, b *Analyzer, figures bool) bool {
	name := func(tk *Task) string {
		if tk == nil {
			return ""
		}
		return tk.Name
	}
	if name(a.Running()) != name(b.Running()) || a.Inversions != b.Inversions || a.Gaps != b.Gaps || len(a.Order()) != len(b.Order()) {
		return false
	}
	if figures && (!reflect.DeepEqual(a.Episodes, b.Episodes) || !reflect.DeepEqual(a.Tasks(), b.Tasks()) ||
		!reflect.DeepEqual(a.Recoveries(), b.Recoveries())) {
		return false
	}
	for i, tk := range a.Order() {
		u := b.Order()[i]
		s1, l1 := a.State(tk)
		s2, l2 := b.State(u)
		if s1 != s2 || (l1 == nil) != (l2 == nil) || tk.jobBlocked != u.jobBlocked || tk.exec != u.exec ||
			tk.Preemptions != u.Preemptions || tk.MaxBlocking != u.MaxBlocking || tk.MaxExec != u.MaxExec {
			return false
		}
	}
	return true
}
