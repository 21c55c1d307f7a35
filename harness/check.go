package harness

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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

// Task metrics a check can name after "<task>.", and whether they are times.
var taskMetrics = map[string]bool{
	"max_response":    true,
	"p99_response":    true,
	"p50_response":    true,
	"max_blocking":    true,
	"deadline_misses": false,
	"jobs":            false,
}

// Run-wide metrics.
var runMetrics = map[string]bool{
	"resets.watchdog": false,
	"resets.software": false,
	"resets.power_on": false,
	"resets.hang":     false,
	"resets.unknown":  false,
	"resets.expected": false,
	"resets.total":    false,
	"inversions":      false,
	"score":           false,
	"telemetry.lost":  false,
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
		t, known := taskMetrics[m]
		if !known {
			return c, fmt.Errorf("%q: unknown task metric %q (known: %s)", expr, m, strings.Join(sortedKeys(taskMetrics), ", "))
		}
		if tasks != nil && !tasks[task] {
			return c, fmt.Errorf("%q: unknown task %q (tasks: %s)", expr, task, strings.Join(sortedKeys(tasks), ", "))
		}
		isTime = t
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
