package firmware

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Protocol is a mutex protocol.
type Protocol uint8

const (
	ProtoNone    Protocol = iota // plain mutex: unbounded priority inversion possible
	ProtoInherit                 // priority inheritance
	ProtoCeiling                 // immediate priority ceiling
)

var protoNames = [...]string{ProtoNone: "none", ProtoInherit: "inherit", ProtoCeiling: "ceiling"}

// String returns "none", "inherit" or "ceiling".
func (p Protocol) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ErrProtocol is returned (wrapped) by ParseProtocol for an unknown name.
var ErrProtocol = errors.New("firmware: unknown mutex protocol")

// ParseProtocol parses "none", "inherit" or "ceiling".
func ParseProtocol(s string) (Protocol, error) {
	for i, n := range protoNames {
		if s == n {
			return Protocol(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want none, inherit or ceiling)", ErrProtocol, s)
}

// SegKind is the kind of one step of a task body.
type SegKind uint8

const (
	SegCompute SegKind = iota // consume CPU for a time drawn from [Best, Worst]
	SegLock                   // acquire Lock
	SegUnlock                 // release Lock
)

// Segment is one step of a task's body.
type Segment struct {
	Kind        SegKind
	Lock        string
	Best, Worst time.Duration
}

// TaskSpec declares one periodic task.
type TaskSpec struct {
	Name     string
	Priority int // larger is more urgent
	Period   time.Duration
	Deadline time.Duration // relative; 0 means equal to Period
	Offset   time.Duration // first release after the run starts
	Body     []Segment
	// KicksWatchdog: the task kicks the hardware watchdog at the end of each job.
	KicksWatchdog bool
}

// WCET is the declared worst-case execution time: the sum of the Worst
// times of the task's compute segments.
func (t *TaskSpec) WCET() time.Duration {
	var d time.Duration
	for _, s := range t.Body {
		if s.Kind == SegCompute {
			d += s.Worst
		}
	}
	return d
}

// Monitor is a bc_sched-style cycle monitor: at the end of each job of Task,
// if the latest job of Watched released before this job's release has not
// finished, the board reports a deadline miss for Watched and Task does not
// kick the watchdog, so the hardware watchdog resets the board.
type Monitor struct {
	Task    string
	Watched string
}

// Profile is a task set and the board around it.
type Profile struct {
	Name      string
	Version   string
	Tasks     []TaskSpec
	Locks     []string
	Watchdog  time.Duration // hardware watchdog timeout; 0 disables it
	Monitor   *Monitor
	BootDelay time.Duration // time from reset to the BOOT banner
	// IRQHandler is the CPU time one interrupt of an irq-storm fault
	// takes, above every task; 0 means DefaultIRQHandler.
	IRQHandler time.Duration
}

// DefaultIRQHandler is an irq storm's handler time on a board whose
// profile does not say: exception entry and return (12 cycles each on a
// Cortex-M3) and a short handler, about 50 cycles at 25 MHz.
const DefaultIRQHandler = 2 * time.Microsecond

// LoadTaskName is the name of the pseudo-task the board declares after the
// profile's tasks; load-burst faults run as jobs of it.
const LoadTaskName = "load"

// MaxLocks is the most locks a profile may declare.
const MaxLocks = 64

// MaxTasks is the most tasks a profile may declare.
const MaxTasks = 256

// FieldError is one problem in a profile, at a field path such as
// "tasks[1].body[2]". File is set when the profile came from a file.
type FieldError struct {
	File string
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every FieldError match ErrProfile.
func (e *FieldError) Is(target error) bool { return target == ErrProfile }

// ErrProfile matches (errors.Is) every problem reported for a profile.
var ErrProfile = errors.New("firmware: invalid profile")

type problems struct {
	file string
	errs []error
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// validName reports whether s can travel in a wire field unchanged.
func validName(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

const nameRule = "must be 1-24 characters of [A-Za-z0-9_.-]"

func wholeMicros(d time.Duration) bool { return d%time.Microsecond == 0 }

// Validate reports every problem in p, each as a *FieldError naming the
// field path, joined with errors.Join; nil means the board can run it.
func (p *Profile) Validate() error {
	var pr problems
	p.validate(&pr)
	return pr.err()
}

func (p *Profile) validate(pr *problems) {
	if !validName(p.Name) {
		pr.add("name", "%q %s", p.Name, nameRule)
	}
	if p.Version != "" && !validName(p.Version) {
		pr.add("version", "%q %s", p.Version, nameRule)
	}
	if p.Watchdog < 0 || !wholeMicros(p.Watchdog) {
		pr.add("watchdog", "%v must be >= 0 and a whole number of microseconds", p.Watchdog)
	}
	if p.IRQHandler < 0 || !wholeMicros(p.IRQHandler) {
		pr.add("irq_handler", "%v must be >= 0 and a whole number of microseconds", p.IRQHandler)
	}
	if p.BootDelay < 0 || !wholeMicros(p.BootDelay) {
		pr.add("boot_delay", "%v must be >= 0 and a whole number of microseconds", p.BootDelay)
	}
	if len(p.Locks) > MaxLocks {
		pr.add("locks", "%d locks declared, at most %d allowed", len(p.Locks), MaxLocks)
	}
	locks := map[string]bool{}
	for i, l := range p.Locks {
		path := fmt.Sprintf("locks[%d]", i)
		if !validName(l) {
			pr.add(path, "lock name %q %s", l, nameRule)
		}
		if locks[l] {
			pr.add(path, "duplicate lock %q", l)
		}
		locks[l] = true
	}
	if len(p.Tasks) == 0 {
		pr.add("tasks", "no tasks declared")
	}
	if len(p.Tasks) > MaxTasks {
		pr.add("tasks", "%d tasks declared, at most %d allowed", len(p.Tasks), MaxTasks)
	}
	names := map[string]bool{}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		path := fmt.Sprintf("tasks[%d]", i)
		switch {
		case !validName(t.Name):
			pr.add(path+".name", "task name %q %s", t.Name, nameRule)
		case t.Name == LoadTaskName:
			pr.add(path+".name", "task name %q is reserved for the load pseudo-task", t.Name)
		case names[t.Name]:
			pr.add(path+".name", "duplicate task %q", t.Name)
		}
		names[t.Name] = true
		if t.Period <= 0 || !wholeMicros(t.Period) {
			pr.add(path+".period", "%v must be > 0 and a whole number of microseconds", t.Period)
		}
		if t.Deadline < 0 || !wholeMicros(t.Deadline) {
			pr.add(path+".deadline", "%v must be >= 0 (0 = period) and a whole number of microseconds", t.Deadline)
		}
		if t.Offset < 0 || !wholeMicros(t.Offset) {
			pr.add(path+".offset", "%v must be >= 0 and a whole number of microseconds", t.Offset)
		}
		if len(t.Body) == 0 {
			pr.add(path+".body", "empty body")
		}
		var held []string
		unknown := false // an unknown lock: lock balance is meaningless
		for k, s := range t.Body {
			sp := fmt.Sprintf("%s.body[%d]", path, k)
			switch s.Kind {
			case SegCompute:
				if s.Best < 0 || s.Worst < s.Best {
					pr.add(sp, "compute %v..%v: want 0 <= best <= worst", s.Best, s.Worst)
				}
				if !wholeMicros(s.Best) || !wholeMicros(s.Worst) {
					pr.add(sp, "compute %v..%v: times must be whole microseconds", s.Best, s.Worst)
				}
			case SegLock:
				if !locks[s.Lock] {
					pr.add(sp, "unknown lock %q", s.Lock)
					unknown = true
					continue
				}
				if slices.Contains(held, s.Lock) {
					pr.add(sp, "lock %q is already held (locks are not recursive)", s.Lock)
					continue
				}
				held = append(held, s.Lock)
			case SegUnlock:
				if !locks[s.Lock] {
					pr.add(sp, "unknown lock %q", s.Lock)
					unknown = true
					continue
				}
				i := slices.Index(held, s.Lock)
				if i < 0 {
					if !unknown {
						pr.add(sp, "unlock of %q, which is not held", s.Lock)
					}
					continue
				}
				held = slices.Delete(held, i, i+1)
			default:
				pr.add(sp, "unknown segment kind %d", s.Kind)
			}
		}
		for _, l := range held {
			if !unknown {
				pr.add(path+".body", "lock %q is never unlocked", l)
			}
		}
	}
	if m := p.Monitor; m != nil {
		if !names[m.Task] {
			pr.add("monitor.task", "unknown task %q", m.Task)
		}
		if !names[m.Watched] {
			pr.add("monitor.watched", "unknown task %q", m.Watched)
		}
		if m.Task == m.Watched && m.Task != "" {
			pr.add("monitor", "task %q cannot watch itself", m.Task)
		}
	}
}

// clone returns a deep copy of p.
func (p *Profile) clone() *Profile {
	q := *p
	q.Locks = slices.Clone(p.Locks)
	q.Tasks = slices.Clone(p.Tasks)
	for i := range q.Tasks {
		q.Tasks[i].Body = slices.Clone(q.Tasks[i].Body)
	}
	if p.Monitor != nil {
		m := *p.Monitor
		q.Monitor = &m
	}
	return &q
}

var builtin = map[string]func() *Profile{
	"pathfinder": pathfinder,
}

// ErrUnknownProfile is returned (wrapped) by Lookup.
var ErrUnknownProfile = errors.New("firmware: unknown profile")

// Lookup returns a copy of a built-in profile ("pathfinder", ...).
func Lookup(name string) (*Profile, error) {
	f, ok := builtin[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built in: %s)", ErrUnknownProfile, name, strings.Join(Profiles(), ", "))
	}
	return f(), nil
}

// Profiles lists the built-in profile names.
func Profiles() []string {
	names := make([]string, 0, len(builtin))
	for n := range builtin {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
