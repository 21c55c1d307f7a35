package firmware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// LoadProfile reads a task set from a YAML file:
//
//	name: demo
//	version: "1.0"
//	watchdog: 200ms          # 0 or absent: no watchdog
//	boot_delay: 50ms
//	irq_handler: 26us        # one irq-storm interrupt's CPU time (absent: 2us)
//	monitor: {task: sched, watched: dist}
//	locks: [bus]
//	tasks:
//	  - name: dist
//	    priority: 9          # larger is more urgent
//	    period: 125ms
//	    deadline: 120ms      # absent: the period
//	    offset: 2ms
//	    kicks_watchdog: false
//	    body:
//	      - compute: 1ms..2ms  # or a single duration
//	      - lock: bus
//	      - compute: 2ms
//	      - unlock: bus
//
// Reading is strict: unknown keys, a key given twice, unknown locks,
// unbalanced lock/unlock and non-positive periods are errors. Every problem
// is reported, each as a *FieldError naming the file, the field path (for
// example "tasks[1].body[2]") and the line, joined with errors.Join.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("firmware: profile: %w", err)
	}
	return parseProfile(path, data)
}

func parseProfile(file string, data []byte) (*Profile, error) {
	pr := &problems{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty file")
		}
		pr.add("", "%v", err)
		return nil, pr.err()
	}
	p := &Profile{}
	l := loader{pr: pr}
	l.profile(doc.Content[0], p)
	// Semantic checks; skip those on fields that already failed to decode.
	var vp problems
	vp.file = file
	p.validate(&vp)
	for _, e := range vp.errs {
		if !l.failed(e.(*FieldError).Path) {
			pr.errs = append(pr.errs, e)
		}
	}
	if err := pr.err(); err != nil {
		return nil, err
	}
	return p, nil
}

type loader struct {
	pr  *problems
	bad []string // paths that failed to decode
}

func (l *loader) fail(path string, n *yaml.Node, format string, args ...any) {
	l.bad = append(l.bad, path)
	l.pr.add(path, "%s (line %d)", fmt.Sprintf(format, args...), n.Line)
}

// failed reports whether path, or a field it is part of, failed to decode.
func (l *loader) failed(path string) bool {
	for _, b := range l.bad {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") ||
			strings.HasPrefix(b, path+".") || strings.HasPrefix(b, path+"[") {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields walks a mapping node, calling f for each known key and reporting
// unknown and repeated keys.
func (l *loader) fields(path string, n *yaml.Node, known []string, f func(key, path string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		l.fail(path, n, "want a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			l.pr.add(kp, "unknown key %q (line %d; known: %s)", k.Value, k.Line, strings.Join(known, ", "))
		case seen[k.Value]:
			l.fail(kp, k, "key given twice")
		default:
			seen[k.Value] = true
			f(k.Value, kp, v)
		}
	}
}

func (l *loader) str(path string, n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.fail(path, n, "want a string")
		return ""
	}
	return n.Value
}

func (l *loader) int(path string, n *yaml.Node) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		l.fail(path, n, "want an integer, got %q", n.Value)
	}
	return v
}

func (l *loader) bool(path string, n *yaml.Node) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		l.fail(path, n, "want true or false, got %q", n.Value)
	}
	return v
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want a number with a unit, e.g. 125ms)", s)
	}
	return d, nil
}

func (l *loader) dur(path string, n *yaml.Node) time.Duration {
	if n.Kind != yaml.ScalarNode {
		l.fail(path, n, "want a duration such as 125ms")
		return 0
	}
	d, err := parseDuration(n.Value)
	if err != nil {
		l.fail(path, n, "%v", err)
	}
	return d
}

func (l *loader) seq(path string, n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		l.fail(path, n, "want a list")
		return nil
	}
	return n.Content
}

func (l *loader) profile(n *yaml.Node, p *Profile) {
	l.fields("", n, []string{"name", "version", "watchdog", "boot_delay", "irq_handler", "monitor", "locks", "tasks"},
		func(key, path string, v *yaml.Node) {
			switch key {
			case "name":
				p.Name = l.str(path, v)
			case "version":
				p.Version = l.str(path, v)
			case "watchdog":
				p.Watchdog = l.dur(path, v)
			case "boot_delay":
				p.BootDelay = l.dur(path, v)
			case "irq_handler":
				p.IRQHandler = l.dur(path, v)
			case "monitor":
				m := &Monitor{}
				l.fields(path, v, []string{"task", "watched"}, func(key, path string, v *yaml.Node) {
					if key == "task" {
						m.Task = l.str(path, v)
					} else {
						m.Watched = l.str(path, v)
					}
				})
				p.Monitor = m
			case "locks":
				for i, x := range l.seq(path, v) {
					p.Locks = append(p.Locks, l.str(fmt.Sprintf("%s[%d]", path, i), x))
				}
			case "tasks":
				for i, x := range l.seq(path, v) {
					p.Tasks = append(p.Tasks, l.task(fmt.Sprintf("%s[%d]", path, i), x))
				}
			}
		})
}

func (l *loader) task(path string, n *yaml.Node) TaskSpec {
	var t TaskSpec
	l.fields(path, n, []string{"name", "priority", "period", "deadline", "offset", "kicks_watchdog", "body"},
		func(key, path string, v *yaml.Node) {
			switch key {
			case "name":
				t.Name = l.str(path, v)
			case "priority":
				t.Priority = l.int(path, v)
			case "period":
				t.Period = l.dur(path, v)
			case "deadline":
				t.Deadline = l.dur(path, v)
			case "offset":
				t.Offset = l.dur(path, v)
			case "kicks_watchdog":
				t.KicksWatchdog = l.bool(path, v)
			case "body":
				for i, x := range l.seq(path, v) {
					t.Body = append(t.Body, l.segment(fmt.Sprintf("%s[%d]", path, i), x))
				}
			}
		})
	return t
}

func (l *loader) segment(path string, n *yaml.Node) (s Segment) {
	// A segment that does not decode makes the body's lock balance
	// meaningless: skip the semantic checks of the whole body.
	defer func(nbad int) {
		if len(l.bad) > nbad {
			l.bad = append(l.bad, path[:strings.LastIndex(path, "[")])
		}
	}(len(l.bad))
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		l.fail(path, n, "want exactly one of compute, lock or unlock")
		return s
	}
	l.fields(path, n, []string{"compute", "lock", "unlock"}, func(key, _ string, v *yaml.Node) {
		switch key {
		case "compute":
			s.Kind = SegCompute
			if v.Kind != yaml.ScalarNode {
				l.fail(path, v, "compute: want a duration or best..worst")
				return
			}
			lo, hi, ok := strings.Cut(v.Value, "..")
			var err error
			if s.Best, err = parseDuration(lo); err != nil {
				l.fail(path, v, "compute: %v", err)
				return
			}
			s.Worst = s.Best
			if ok {
				if s.Worst, err = parseDuration(hi); err != nil {
					l.fail(path, v, "compute: %v", err)
				}
			}
		case "lock", "unlock":
			s.Kind = SegLock
			if key == "unlock" {
				s.Kind = SegUnlock
			}
			s.Lock = l.str(path, v)
		}
	})
	return s
}
