package harness

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/harness/analyze"
)

// Check is one absolute limit on a run, written in a compact syntax:
//
//	bc_dist.p99_response < 100ms
//	resets.watchdog == 0
//	inversions <= 2
type Check struct {
	Expr        string  `json:"check"`
	Requirement string  `json:"requirement,omitempty"`
	Metric      string  `json:"-"`
	Op          string  `json:"-"`
	Limit       float64 `json:"-"`              // µs for time metrics
	IsTime      bool    `json:"time,omitempty"` // the metric is a time in µs
}

var checkOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// Task metrics a check can name after "<task>.": whether each is a time
// (µs), and how to read it. ParseCheck accepts and Metric reads exactly
// these.
var taskMetrics = map[string]struct {
	isTime bool
	get    func(t *analyze.TaskResult) float64
}{
	"max_response":    {true, func(t *analyze.TaskResult) float64 { return float64(t.MaxResponseUS) }},
	"p99_response":    {true, func(t *analyze.TaskResult) float64 { return float64(t.P99ResponseUS) }},
	"p50_response":    {true, func(t *analyze.TaskResult) float64 { return float64(t.P50ResponseUS) }},
	"max_blocking":    {true, func(t *analyze.TaskResult) float64 { return float64(t.MaxBlockingUS) }},
	"deadline_misses": {false, func(t *analyze.TaskResult) float64 { return float64(t.DeadlineMisses) }},
	"jobs":            {false, func(t *analyze.TaskResult) float64 { return float64(t.Jobs) }},
}

// Run-wide metrics (none is a time), and how to read each.
var runMetrics = map[string]func(r *RunRecord) float64{
	"resets.watchdog": func(r *RunRecord) float64 { return float64(r.Resets.Watchdog) },
	"resets.software": func(r *RunRecord) float64 { return float64(r.Resets.Software) },
	"resets.power_on": func(r *RunRecord) float64 { return float64(r.Resets.PowerOn) },
	"resets.hang":     func(r *RunRecord) float64 { return float64(r.Resets.Hang) },
	"resets.unknown":  func(r *RunRecord) float64 { return float64(r.Resets.Unknown) },
	"resets.expected": func(r *RunRecord) float64 { return float64(r.Resets.Expected) },
	"resets.total":    func(r *RunRecord) float64 { return float64(r.Resets.Total()) },
	"inversions":      func(r *RunRecord) float64 { return float64(r.Inversions) },
	"score":           func(r *RunRecord) float64 { return r.Score },
	"telemetry.lost":  func(r *RunRecord) float64 { return float64(r.Telemetry.Lost + r.Telemetry.Dropped) },
}

// ParseCheck parses one check. tasks, if not nil, is the set of task names
// a "<task>.metric" may refer to.
func ParseCheck(expr string, tasks map[string]bool) (Check, error) {
	c := Check{Expr: strings.TrimSpace(expr)}
	var lhs, rhs string
	for _, op := range checkOps {
		if i := strings.Index(c.Expr, op); i > 0 {
			lhs, rhs, c.Op = strings.TrimSpace(c.Expr[:i]), strings.TrimSpace(c.Expr[i+len(op):]), op
			break
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("%q: want METRIC OP VALUE, e.g. \"bc_dist.p99_response < 100ms\" (OP one of %s)", expr, strings.Join(checkOps, " "))
	}
	c.Metric = lhs
	isTime := false
	if _, ok := runMetrics[lhs]; ok {
		// run-wide
	} else if task, m, ok := strings.Cut(lhs, "."); ok {
		tm, known := taskMetrics[m]
		if !known {
			return c, fmt.Errorf("%q: unknown task metric %q (known: %s)", expr, m, strings.Join(sortedKeys(taskMetrics), ", "))
		}
		if tasks != nil && !tasks[task] {
			return c, fmt.Errorf("%q: unknown task %q (tasks: %s)", expr, task, strings.Join(sortedKeys(tasks), ", "))
		}
		isTime = tm.isTime
	} else {
		return c, fmt.Errorf("%q: unknown metric %q (known: %s, or TASK.METRIC)", expr, lhs, strings.Join(sortedKeys(runMetrics), ", "))
	}
	v, err := parseLimit(rhs, isTime)
	if err != nil {
		return c, fmt.Errorf("%q: %v", expr, err)
	}
	c.Limit, c.IsTime = v, isTime
	return c, nil
}

func parseLimit(s string, isTime bool) (float64, error) {
	if isTime {
		if d, err := time.ParseDuration(s); err == nil {
			return float64(d) / float64(time.Microsecond), nil
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("time limit %q has no unit (write e.g. %sms)", s, s)
		}
		return 0, fmt.Errorf("time limit %q is not a duration such as 100ms", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("limit %q is not a number", s)
	}
	return v, nil
}

// Format writes a value of the check's metric for a person: times as
// durations, counts as numbers.
func (c Check) Format(v float64) string {
	if c.IsTime {
		return (time.Duration(v) * time.Microsecond).String()
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Holds reports whether v satisfies the check.
func (c Check) Holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Limit
	case "<=":
		return v <= c.Limit
	case ">":
		return v > c.Limit
	case ">=":
		return v >= c.Limit
	case "==":
		return v == c.Limit
	case "!=":
		return v != c.Limit
	}
	return false
}
