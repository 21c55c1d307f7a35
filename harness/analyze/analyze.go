// Package analyze turns a board's event stream into figures: per-task
// response times (in HdrHistograms, so memory does not grow with the length
// of a run), deadline misses and blocking times. It works on board time only.
package analyze

import (
	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Histogram range: 1 µs to 10 minutes at 3 significant digits.
const (
	histMin    = 1
	histMax    = 600_000_000
	histDigits = 3
)

// Task holds the running figures of one declared task.
type Task struct {
	Name     string
	Priority int
	Period   int64
	Deadline int64

	Jobs        uint64
	Misses      uint64
	MaxResponse int64
	MaxBlocking int64
	Hist        *hdrhistogram.Histogram

	blockedAt  int64 // run time the current block started, -1 if not blocked
	jobBlocked int64 // blocking accumulated by the job in progress

	// Release times of jobs released and not yet ended, oldest first, in a
	// small ring: a job a reset killed still tells how long it waited.
	pending     [8]int64
	pHead, pLen int
}

// Analyzer consumes events in run time (µs since the run started, across
// resets) and keeps the figures of one run.
type Analyzer struct {
	byName map[string]*Task
	order  []*Task
	index  []*Task // by the current boot's task index
}

// New returns an empty Analyzer.
func New() *Analyzer { return &Analyzer{byName: map[string]*Task{}} }

// SetTable is called after every boot with the table the board declared.
// Figures are kept by task name, so they carry across resets.
func (a *Analyzer) SetTable(t *wire.Table) {
	a.index = a.index[:0]
	for _, ti := range t.Tasks {
		tk := a.byName[ti.Name]
		if tk == nil {
			tk = &Task{Name: ti.Name, Priority: ti.Priority, Period: ti.Period, Deadline: ti.Deadline,
				Hist: hdrhistogram.New(histMin, histMax, histDigits), blockedAt: -1}
			a.byName[ti.Name] = tk
			a.order = append(a.order, tk)
		}
		a.index = append(a.index, tk)
	}
}

// Reset tells the analyzer the board rebooted at run time t: jobs in flight
// are gone.
//
// A job that was released and never ended had waited at least from its
// release until the reset; that lower bound counts towards MaxResponse, so a
// task whose jobs die in resets does not look fast.
func (a *Analyzer) Reset(t int64) {
	for _, tk := range a.order {
		if tk.pLen > 0 {
			tk.MaxResponse = max(tk.MaxResponse, t-tk.pending[tk.pHead])
		}
		tk.blockedAt, tk.jobBlocked = -1, 0
		tk.pHead, tk.pLen = 0, 0
	}
}

func (a *Analyzer) task(i int32) *Task {
	if i < 0 || int(i) >= len(a.index) {
		return nil
	}
	return a.index[i]
}

// Event takes one event at run time t (µs).
func (a *Analyzer) Event(t int64, ev *wire.Event) {
	switch ev.Kind {
	case wire.EvRelease:
		if tk := a.task(ev.Task); tk != nil {
			if tk.pLen == len(tk.pending) { // overrun beyond the ring: keep the oldest
				return
			}
			tk.pending[(tk.pHead+tk.pLen)%len(tk.pending)] = t
			tk.pLen++
		}
	case wire.EvEnd:
		tk := a.task(ev.Task)
		if tk == nil {
			return
		}
		if tk.pLen > 0 {
			tk.pHead = (tk.pHead + 1) % len(tk.pending)
			tk.pLen--
		}
		tk.Jobs++
		r := ev.Arg
		if r > tk.MaxResponse {
			tk.MaxResponse = r
		}
		if r < histMin {
			r = histMin
		}
		_ = tk.Hist.RecordValue(min(r, histMax))
		if tk.jobBlocked > tk.MaxBlocking {
			tk.MaxBlocking = tk.jobBlocked
		}
		tk.jobBlocked = 0
	case wire.EvBlock:
		if tk := a.task(ev.Task); tk != nil {
			tk.blockedAt = t
		}
	case wire.EvLock:
		if tk := a.task(ev.Task); tk != nil && tk.blockedAt >= 0 {
			tk.jobBlocked += t - tk.blockedAt
			tk.blockedAt = -1
		}
	case wire.EvDeadlineMiss:
		if tk := a.task(ev.Task); tk != nil {
			tk.Misses++
		}
	}
}

// Summary takes an SM frame (trace level 0, where there are no EN events).
func (a *Analyzer) Summary(s *wire.Summary) {
	tk := a.task(s.Task)
	if tk == nil {
		return
	}
	tk.Jobs += uint64(s.Jobs)
	tk.Misses += uint64(s.Misses)
	if s.MaxResp > tk.MaxResponse {
		tk.MaxResponse = s.MaxResp
	}
	if s.Jobs > 0 && s.MaxResp > 0 {
		_ = tk.Hist.RecordValue(min(s.MaxResp, histMax))
	}
}

// TaskResult is one task's figures in a run record. Times are µs of board time.
type TaskResult struct {
	Jobs           uint64 `json:"jobs"`
	MaxResponseUS  int64  `json:"max_response_us"`
	P99ResponseUS  int64  `json:"p99_response_us"`
	P50ResponseUS  int64  `json:"p50_response_us"`
	DeadlineMisses uint64 `json:"deadline_misses"`
	MaxBlockingUS  int64  `json:"max_blocking_us"`
}

// Tasks returns the periodic tasks' figures by name (sporadic pseudo-tasks,
// such as the load-burst jobs, are left out).
func (a *Analyzer) Tasks() map[string]TaskResult {
	out := make(map[string]TaskResult, len(a.order))
	for _, tk := range a.order {
		if tk.Period <= 0 {
			continue
		}
		r := TaskResult{Jobs: tk.Jobs, MaxResponseUS: tk.MaxResponse, DeadlineMisses: tk.Misses, MaxBlockingUS: tk.MaxBlocking}
		if tk.Hist.TotalCount() > 0 {
			r.P99ResponseUS = min(tk.Hist.ValueAtQuantile(99), tk.MaxResponse)
			r.P50ResponseUS = min(tk.Hist.ValueAtQuantile(50), tk.MaxResponse)
		}
		out[tk.Name] = r
	}
	return out
}

// Order returns the tasks in the order the board first declared them.
func (a *Analyzer) Order() []*Task { return a.order }
