package report

import (
	"fmt"
	"path/filepath"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Span is a stretch of run time [From, To) in µs.
type Span struct {
	From, To int64
	What     string // task spans: "running", "ready", "blocked"; lock spans: the holder
	Lock     string // blocked spans: the lock waited for
}

// Mark is an instant on the timeline.
type Mark struct {
	At    int64
	Kind  string // "fault-begin", "fault-end", "reset", "miss"
	Task  string // the task it concerns, if any
	Label string
}

// Timeline is the rebuilt schedule of a stretch of one run.
type Timeline struct {
	From, To  int64
	Tasks     []string
	Locks     []string
	TaskSpans map[string][]Span
	LockSpans map[string][]Span
	Marks     []Mark
	Episodes  []analyze.Episode
	// Full is false when the trace had no context switches (level 1):
	// running and ready are then inferred.
	Full bool
	// Console is the board's console lines in the stretch (console.go).
	Console []record.ConsoleLine
}

// maxSpans bounds one timeline's size, whatever window is asked for.
const maxSpans = 200_000

// builder replays a stored trace into a Timeline (tracelog.Handler).
type builder struct {
	tl     *Timeline
	a      *analyze.Analyzer
	rec    *record.RunRecord
	tbl    wire.Table
	cur    map[*analyze.Task]Span
	locks  map[*analyze.Lock]Span
	nspans int
	// all: every span of the run (for Perfetto), not just the window.
	all  bool
	past bool // beyond the window: nothing more to do
}

func newBuilder(rec *record.RunRecord, from, to int64, all bool) *builder {
	a := analyze.New()
	// Infer who runs until the trace shows a context switch (level 2),
	// then follow the switches (Event).
	a.SetLevel(1)
	for _, f := range rec.Faults {
		if f.Kind == "load-burst" {
			a.SetFaultPriority(f.ID, 0) // only its running matters here
		}
	}
	return &builder{a: a, rec: rec, all: all,
		tl:  &Timeline{From: from, To: to, TaskSpans: map[string][]Span{}, LockSpans: map[string][]Span{}},
		cur: map[*analyze.Task]Span{}, locks: map[*analyze.Lock]Span{}}
}

func (b *builder) SetTable(t *wire.Table) {
	b.tbl = wire.Table{Tasks: append([]wire.TaskInfo(nil), t.Tasks...), Locks: append([]wire.LockInfo(nil), t.Locks...)}
	b.a.SetTable(t)
	b.tl.Tasks = b.tl.Tasks[:0]
	for _, tk := range b.a.Order() {
		b.tl.Tasks = append(b.tl.Tasks, tk.Name)
	}
	b.tl.Locks = b.tl.Locks[:0]
	for _, l := range b.a.Locks() {
		b.tl.Locks = append(b.tl.Locks, l.Name)
	}
}

func (b *builder) in(t int64) bool { return b.all || t >= b.tl.From && t <= b.tl.To }

func (b *builder) Reset(t int64) {
	if b.past {
		return
	}
	b.a.Reset(t)
	if b.in(t) {
		b.tl.Marks = append(b.tl.Marks, Mark{At: t, Kind: "reset", Label: "reset"})
	}
	b.update(t)
}

func (b *builder) Event(t int64, ev *wire.Event) {
	if ev.Kind == wire.EvSwitch && !b.tl.Full {
		b.tl.Full = true
		b.a.SetLevel(2)
	}
	if b.past {
		return
	}
	if !b.all && t > b.tl.To {
		b.update(b.tl.To)
		b.past = true
		return
	}
	b.a.Event(t, ev)
	if !b.in(t) {
		return
	}
	name := ""
	if ev.Task >= 0 && int(ev.Task) < len(b.tbl.Tasks) {
		name = b.tbl.Tasks[ev.Task].Name
	}
	switch ev.Kind {
	case wire.EvFaultBegin, wire.EvFaultEnd:
		kind, label := "fault-begin", fmt.Sprintf("fault %d", ev.Arg)
		if ev.Kind == wire.EvFaultEnd {
			kind = "fault-end"
		}
		for _, f := range b.rec.Faults {
			if int64(f.ID) == ev.Arg {
				label = f.Name
			}
		}
		b.tl.Marks = append(b.tl.Marks, Mark{At: t, Kind: kind, Task: name, Label: label})
	case wire.EvDeadlineMiss:
		b.tl.Marks = append(b.tl.Marks, Mark{At: t, Kind: "miss", Task: name, Label: "deadline miss " + name})
	case wire.EvWatchdogExpiry:
		b.tl.Marks = append(b.tl.Marks, Mark{At: t, Kind: "miss", Label: "watchdog expiry"})
	}
	b.update(t)
}

// update closes the spans whose state changed at t and opens new ones.
func (b *builder) update(t int64) {
	if b.nspans >= maxSpans {
		return
	}
	t = max(t, b.tl.From)
	if !b.all {
		t = min(t, b.tl.To)
	}
	for _, tk := range b.a.Order() {
		st, l := b.a.State(tk)
		s := Span{From: t}
		switch st {
		case analyze.Running:
			s.What = "running"
		case analyze.Ready:
			s.What = "ready"
		case analyze.Blocked:
			s.What, s.Lock = "blocked", l.Name
		}
		old, ok := b.cur[tk]
		if ok && old.What == s.What && old.Lock == s.Lock {
			continue
		}
		if ok && old.What != "" && t > old.From {
			old.To = t
			b.tl.TaskSpans[tk.Name] = append(b.tl.TaskSpans[tk.Name], old)
			b.nspans++
		}
		b.cur[tk] = s
	}
	for _, l := range b.a.Locks() {
		s := Span{From: t}
		if h := l.Holder(); h != nil {
			s.What = h.Name
		}
		old, ok := b.locks[l]
		if ok && old.What == s.What {
			continue
		}
		if ok && old.What != "" && t > old.From {
			old.To = t
			b.tl.LockSpans[l.Name] = append(b.tl.LockSpans[l.Name], old)
			b.nspans++
		}
		b.locks[l] = s
	}
}

// BuildTimeline replays run rec's stored trace (dir is the results
// directory) and returns the schedule between from and to (µs of run time).
func BuildTimeline(dir string, rec *record.RunRecord, from, to int64) (*Timeline, error) {
	return build(dir, rec, from, to, false)
}

func build(dir string, rec *record.RunRecord, from, to int64, all bool) (*Timeline, error) {
	if rec.Trace == "" {
		return nil, fmt.Errorf("run %d has no stored trace (run with --out)", rec.Index)
	}
	b := newBuilder(rec, from, to, all)
	if err := tracelog.Replay(filepath.Join(dir, rec.Trace), b); err != nil {
		return nil, err
	}
	end := to
	if all {
		end = max(rec.DurationUS, from)
		for _, ss := range b.tl.TaskSpans {
			for _, s := range ss {
				end = max(end, s.To)
			}
		}
	}
	b.update(end)
	b.tl.To = end
	// Close what is still open at the end.
	for tk, s := range b.cur {
		if s.What != "" && end > s.From {
			s.To = end
			b.tl.TaskSpans[tk.Name] = append(b.tl.TaskSpans[tk.Name], s)
		}
	}
	for l, s := range b.locks {
		if s.What != "" && end > s.From {
			s.To = end
			b.tl.LockSpans[l.Name] = append(b.tl.LockSpans[l.Name], s)
		}
	}
	for _, e := range rec.InversionLog {
		if all || e.StartUS <= to && e.StartUS+e.LengthUS >= from {
			b.tl.Episodes = append(b.tl.Episodes, e)
		}
	}
	return b.tl, nil
}

// Window is the stretch of run time a report shows for a run: around its
// first inversion episode, else around its first reset (stretched to show
// a reset that follows the episode within a second). ok is false for a run
// with neither.
func Window(rec *record.RunRecord) (from, to int64, ok bool) {
	anchor := int64(-1)
	if len(rec.InversionLog) > 0 {
		anchor = rec.InversionLog[0].StartUS
	}
	var reset int64 = -1
	if len(rec.ResetLog) > 0 {
		reset = rec.ResetLog[0].AtUS
	}
	switch {
	case anchor < 0 && reset >= 0:
		anchor = reset
	case anchor < 0:
		return 0, 0, false
	}
	from = max(0, anchor-50_000)
	to = anchor + 450_000
	if reset >= anchor && reset < anchor+1_000_000 {
		to = max(to, reset+100_000)
	}
	return from, to, true
}
