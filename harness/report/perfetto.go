package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Perfetto / Chrome trace-event JSON ("JSON Array/Object Format" of the
// Trace Event Format, which ui.perfetto.dev and chrome://tracing open):
// one process per run, one thread (track) per task and per lock. Task
// tracks carry running, ready and blocked slices ("X" events, µs); lock
// tracks carry who holds the lock; inversion episodes are slices on one
// "priority inversions" track; faults, deadline misses and resets are
// instant events ("i"), on the task's track when they concern one.

type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   int64          `json:"ts"`
	Dur  *int64         `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// Track ids inside a run's process.
const (
	tidInversions = 900
	tidLockBase   = 1000
)

// WritePerfetto writes every run that has a stored trace. Runs without one
// are listed in the returned warnings.
func WritePerfetto(w io.Writer, dir string, sum *record.Summary) ([]error, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := io.WriteString(bw, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"); err != nil {
		return nil, err
	}
	var warns []error
	first := true
	emit := func(e traceEvent) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		_, err = bw.Write(b)
		return err
	}
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Trace == "" {
			warns = append(warns, fmt.Errorf("run %d: no stored trace: left out of the Perfetto file", r.Index))
			continue
		}
		tl, err := build(dir, r, 0, r.DurationUS, true)
		if err != nil {
			warns = append(warns, fmt.Errorf("run %d: %w", r.Index, err))
			continue
		}
		if err := perfettoRun(emit, r, tl); err != nil {
			return warns, err
		}
	}
	if _, err := io.WriteString(bw, "\n]}\n"); err != nil {
		return warns, err
	}
	return warns, bw.Flush()
}

func perfettoRun(emit func(traceEvent) error, r *record.RunRecord, tl *Timeline) error {
	pid := r.Index + 1
	meta := func(tid int, name, value string, sort int) error {
		if err := emit(traceEvent{Name: name, Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": value}}); err != nil {
			return err
		}
		if name == "thread_name" {
			return emit(traceEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"sort_index": sort}})
		}
		return nil
	}
	if err := meta(0, "process_name", fmt.Sprintf("run %d %s (seed %d)", r.Index, r.Target, r.Seed), 0); err != nil {
		return err
	}
	tids := map[string]int{}
	for k, name := range tl.Tasks {
		tids[name] = k + 1
		if err := meta(k+1, "thread_name", name, k+1); err != nil {
			return err
		}
	}
	if err := meta(tidInversions, "thread_name", "priority inversions", tidInversions); err != nil {
		return err
	}
	for k, name := range tl.Locks {
		if err := meta(tidLockBase+k, "thread_name", "lock "+name, tidLockBase+k); err != nil {
			return err
		}
	}
	slice := func(tid int, name, cat string, from, to int64, args map[string]any) error {
		d := to - from
		return emit(traceEvent{Name: name, Cat: cat, Ph: "X", Ts: from, Dur: &d, Pid: pid, Tid: tid, Args: args})
	}
	for _, name := range tl.Tasks {
		for _, s := range tl.TaskSpans[name] {
			label := s.What
			if s.Lock != "" {
				label = "blocked on " + s.Lock
			}
			if err := slice(tids[name], label, "sched", s.From, s.To, nil); err != nil {
				return err
			}
		}
	}
	for k, name := range tl.Locks {
		for _, s := range tl.LockSpans[name] {
			if err := slice(tidLockBase+k, "held by "+s.What, "lock", s.From, s.To, nil); err != nil {
				return err
			}
		}
	}
	for _, e := range tl.Episodes {
		args := map[string]any{"high": e.High, "low": e.Low, "medium": e.Medium, "lock": e.Lock, "medium_us": e.MediumUS}
		if err := slice(tidInversions, "inversion: "+e.High+" waits for "+e.Lock+" held by "+e.Low, "inversion",
			e.StartUS, e.StartUS+e.LengthUS, args); err != nil {
			return err
		}
	}
	for _, m := range tl.Marks {
		ev := traceEvent{Name: m.Label, Cat: m.Kind, Ph: "i", Ts: m.At, Pid: pid, S: "p"}
		if tid, ok := tids[m.Task]; ok {
			ev.Tid, ev.S = tid, "t"
		}
		if err := emit(ev); err != nil {
			return err
		}
	}
	return perfettoConsole(emit, pid, tl)
}
