package analyze

import (
	"fmt"
)

// The timing oracle: response-time analysis (RTA) of the task set the board
// declared, with the blocking term of the declared lock protocol, compared
// with what the trace showed.
//
// For task i with declared WCET C_i, higher-or-equal-priority tasks j
// (period T_j, WCET C_j) and blocking term B_i, the response-time bound is
// the least fixed point of
//
//	R = C_i + B_i + sum_j ceil(R / T_j) * C_j
//
// and the bound on one job's total wait for locks is the fixed point of
// W = B_i + sum_j ceil(W / T_j) * C_j (while it waits, more urgent tasks
// still run). B_i depends on the protocol:
//
//	none     unbounded if a lower-priority task takes a lock task i takes
//	         (medium-priority work can keep the holder off the CPU), else 0
//	inherit  min(sum over lower tasks k of k's longest critical section on a
//	         lock whose ceiling >= prio_i, sum over such locks l of the
//	         longest critical section of a lower task on l)
//	ceiling  the single longest such critical section
//
// The TK frame does not declare critical sections, so which task takes which
// lock and for how long (CPU time while holding it) is what the trace showed.

// Bound is the oracle's verdict for one task. A bound of -1 means none:
// unbounded under the declared protocol, or the analysis diverged (the
// declared set is not schedulable), or the task declares no WCET.
type Bound struct {
	Task            string `json:"task"`
	Protocol        string `json:"protocol"`
	WCETUS          int64  `json:"wcet_us"`
	BlockingTermUS  int64  `json:"blocking_term_us"`  // B_i, -1 unbounded
	BlockingBoundUS int64  `json:"blocking_bound_us"` // W_i, -1 unbounded
	ResponseBoundUS int64  `json:"response_bound_us"` // R_i, -1 none
	DeadlineUS      int64  `json:"deadline_us"`
	Schedulable     bool   `json:"schedulable"` // R_i <= deadline
	Note            string `json:"note,omitempty"`
}

// Finding is an observation outside the declared model: above its bound.
type Finding struct {
	Task       string `json:"task"`
	Metric     string `json:"metric"` // response_us, blocking_us, exec_us
	BoundUS    int64  `json:"bound_us"`
	ObservedUS int64  `json:"observed_us"` // the worst observation
	AtUS       int64  `json:"at_us"`       // run time of the worst observation
	Count      int64  `json:"count"`       // jobs above the bound (at least 1), jobs a reset killed included
	Message    string `json:"message"`
}

// rtaLimit stops a fixed-point iteration that diverges.
const rtaLimit = 1 << 40

// fixedPoint solves x = base + sum_j ceil(x/T_j)*C_j; -1 if it diverges.
func fixedPoint(base int64, hp []*Task) int64 {
	x := base
	for _, j := range hp {
		x += j.WCET
	}
	if x == 0 {
		return 0
	}
	for range 10000 {
		n := base
		for _, j := range hp {
			n += (x + j.Period - 1) / j.Period * j.WCET
		}
		if n == x {
			return x
		}
		if n > rtaLimit {
			return -1
		}
		x = n
	}
	return -1
}

// Oracle computes each periodic task's bounds from the declared table and
// the critical sections observed, and lists the observations above them.
func (a *Analyzer) Oracle() ([]Bound, []Finding) {
	var bounds []Bound
	var finds []Finding
	for i, tk := range a.order {
		if tk.Period <= 0 {
			continue
		}
		b := Bound{Task: tk.Name, WCETUS: tk.WCET, DeadlineUS: tk.Deadline, ResponseBoundUS: -1}
		var hp []*Task
		for k, j := range a.order {
			if k != i && j.Period > 0 && j.Priority >= tk.Priority {
				if j.WCET <= 0 {
					b.Note = fmt.Sprintf("no bound: %s declares no WCET", j.Name)
				}
				hp = append(hp, j)
			}
		}
		b.BlockingTermUS, b.Protocol = a.blockingTerm(tk)
		b.BlockingBoundUS = -1
		if a.level == 0 {
			// Summaries carry no lock events: the blocking term, and so
			// every bound, is unknown; a bound of 0 would turn every
			// response into a finding.
			b.BlockingTermUS, b.ResponseBoundUS = -1, -1
			b.Note = "no bound: no lock data (trace level 0 sends no lock events)"
			bounds = append(bounds, b)
			continue
		}
		if b.BlockingTermUS >= 0 && b.Note == "" {
			b.BlockingBoundUS = 0
			if b.BlockingTermUS > 0 {
				b.BlockingBoundUS = fixedPoint(b.BlockingTermUS, hp)
			}
		}
		switch {
		case b.Note != "":
		case tk.WCET <= 0:
			b.Note = "no bound: the task declares no WCET"
		case b.BlockingTermUS < 0:
			b.Note = fmt.Sprintf("no bound: protocol %s lets medium-priority work delay a lower-priority lock holder indefinitely", b.Protocol)
		default:
			b.ResponseBoundUS = fixedPoint(tk.WCET+b.BlockingTermUS, hp)
			if b.ResponseBoundUS < 0 {
				b.Note = "no bound: the analysis diverges (the declared set overloads the CPU)"
			}
		}
		b.Schedulable = b.ResponseBoundUS >= 0 && b.ResponseBoundUS <= tk.Deadline
		bounds = append(bounds, b)

		if b.ResponseBoundUS >= 0 && tk.MaxResponse > b.ResponseBoundUS {
			finds = append(finds, Finding{Task: tk.Name, Metric: "response_us", BoundUS: b.ResponseBoundUS,
				ObservedUS: tk.MaxResponse, AtUS: tk.MaxResponseAt, Count: max(above(tk.Hist, b.ResponseBoundUS), 1),
				Message: fmt.Sprintf("%s responded in %s at %s, above the analytic bound %s (WCET %s + blocking %s + interference)",
					tk.Name, us(tk.MaxResponse), runAt(tk.MaxResponseAt), us(b.ResponseBoundUS), us(tk.WCET), us(b.BlockingTermUS))})
		}
		if b.BlockingBoundUS >= 0 && tk.MaxBlocking > b.BlockingBoundUS {
			finds = append(finds, Finding{Task: tk.Name, Metric: "blocking_us", BoundUS: b.BlockingBoundUS,
				ObservedUS: tk.MaxBlocking, AtUS: tk.MaxBlockingAt, Count: max(above(tk.BlockHist, b.BlockingBoundUS), 1),
				Message: fmt.Sprintf("%s waited %s for locks at %s, above the %s bound %s",
					tk.Name, us(tk.MaxBlocking), runAt(tk.MaxBlockingAt), b.Protocol, us(b.BlockingBoundUS))})
		}
		if tk.WCET > 0 && tk.ExecOverWCET > 0 {
			finds = append(finds, Finding{Task: tk.Name, Metric: "exec_us", BoundUS: tk.WCET,
				ObservedUS: tk.MaxExec, AtUS: tk.MaxExecAt, Count: int64(tk.ExecOverWCET),
				Message: fmt.Sprintf("%s ran %s of CPU in one job at %s, above its declared WCET %s",
					tk.Name, us(tk.MaxExec), runAt(tk.MaxExecAt), us(tk.WCET))})
		}
	}
	return bounds, finds
}

// blockingTerm is B_i for tk and the protocol it follows from; -1 unbounded.
func (a *Analyzer) blockingTerm(tk *Task) (int64, string) {
	proto := ""
	var sumTasks, sumLocks, single int64
	perLock := make([]int64, len(a.locks))
	unbounded := false
	for _, low := range a.order {
		if low.Priority >= tk.Priority || low.Period <= 0 {
			continue
		}
		var worst int64
		for k, l := range a.locks {
			if k >= len(low.usesLock) || !low.usesLock[k] || l.Ceiling < tk.Priority {
				continue
			}
			if l.Protocol == "none" || l.Protocol == "" {
				if k < len(tk.usesLock) && tk.usesLock[k] {
					unbounded = true
					proto = l.Protocol
				}
				continue
			}
			if proto == "" || l.Protocol != "none" {
				proto = l.Protocol
			}
			cs := low.lockCS[k]
			worst = max(worst, cs)
			perLock[k] = max(perLock[k], cs)
			single = max(single, cs)
		}
		sumTasks += worst
	}
	for _, v := range perLock {
		sumLocks += v
	}
	if proto == "" && len(a.locks) > 0 {
		proto = a.locks[0].Protocol
	}
	if unbounded {
		return -1, "none"
	}
	if proto == "ceiling" {
		return single, proto
	}
	return min(sumTasks, sumLocks), proto
}

// above counts recorded values above v.
func above(h *Histogram, v int64) int64 {
	var n int64
	h.bars(func(from, _, count int64) {
		if from > v {
			n += count
		}
	})
	return n
}

// us formats µs for a person: "31.2 ms" or "850 µs".
func us(v int64) string {
	if v < 0 {
		return "unbounded"
	}
	if v >= 1000 {
		return fmt.Sprintf("%.1f ms", float64(v)/1000)
	}
	return fmt.Sprintf("%d µs", v)
}

// runAt formats a run time for a person: "t=2.129 s".
func runAt(v int64) string { return fmt.Sprintf("t=%.3f s", float64(v)/1e6) }
