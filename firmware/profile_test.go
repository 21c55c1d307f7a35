package firmware

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDemo(t *testing.T) {
	p, err := LoadProfile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo" || p.Version != "1.0" || p.Watchdog != 200*ms || p.BootDelay != 50*ms ||
		p.Monitor == nil || p.Monitor.Task != "sched" || p.Monitor.Watched != "dist" ||
		len(p.Locks) != 1 || p.Locks[0] != "bus" || len(p.Tasks) != 3 {
		t.Fatalf("demo profile decoded as %+v", p)
	}
	dist := p.Tasks[1]
	want := []Segment{compute(1*ms, 2*ms), lockSeg("bus"), compute(2*ms, 2*ms), unlockSeg("bus")}
	if dist.Priority != 9 || dist.Period != 125*ms || dist.Deadline != 120*ms || dist.Offset != 2*ms ||
		len(dist.Body) != len(want) {
		t.Fatalf("dist decoded as %+v", dist)
	}
	for i := range want {
		if dist.Body[i] != want[i] {
			t.Errorf("dist body[%d] = %+v, want %+v", i, dist.Body[i], want[i])
		}
	}
	b, r := quietBoard(t, p, Config{Mutex: ProtoInherit, Trace: 1, Seed: 3})
	boot(b)
	goRun(b, 10*time.Second)
	if r.count(evDM, anyTask) != 0 || b.wdts != 0 || r.count(evEN, 1) != 80 {
		t.Fatalf("demo run: %d misses, %d resets, %d dist jobs", r.count(evDM, anyTask), b.wdts, r.count(evEN, 1))
	}
}

func TestLoadProfileErrors(t *testing.T) {
	demo, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		edit      func(string) string
		wantParts []string // each must appear in one error line
	}{
		{"unknown lock", func(s string) string {
			return strings.Replace(s, "lock: bus\n      - compute: 2ms", "lock: bsu\n      - compute: 2ms", 1)
		},
			[]string{`demo.yaml: tasks[1].body[1]: unknown lock "bsu"`}},
		{"unknown key", func(s string) string { return strings.Replace(s, "priority: 9", "priority: 9\n    prio: 3", 1) },
			[]string{`demo.yaml: tasks[1].prio: unknown key "prio"`}},
		{"unknown top key", func(s string) string { return s + "extra: 1\n" }, []string{`demo.yaml: extra: unknown key`}},
		{"zero period", func(s string) string { return strings.Replace(s, "period: 250ms", "period: 0s", 1) },
			[]string{`demo.yaml: tasks[2].period: 0s must be > 0`}},
		{"bad duration", func(s string) string { return strings.Replace(s, "period: 250ms", "period: 250", 1) },
			[]string{`demo.yaml: tasks[2].period: bad duration "250"`}},
		{"unbalanced", func(s string) string {
			return strings.Replace(s, "      - unlock: bus\n  - name: logger", "  - name: logger", 1)
		},
			[]string{`demo.yaml: tasks[1].body: lock "bus" is never unlocked`}},
		{"unlock not held", func(s string) string {
			return strings.Replace(s, "      - compute: 500us..1ms", "      - compute: 500us..1ms\n      - unlock: bus", 1)
		},
			[]string{`demo.yaml: tasks[0].body[1]: unlock of "bus", which is not held`}},
		{"several at once", func(s string) string {
			s = strings.Replace(s, "lock: bus\n      - compute: 2ms", "lock: bsu\n      - compute: 2ms", 1)
			s = strings.Replace(s, "period: 250ms", "period: -1s", 1)
			return strings.Replace(s, "watched: dist", "watched: dst", 1)
		}, []string{`tasks[1].body[1]: unknown lock "bsu"`, `tasks[2].period: -1s must be > 0`, `monitor.watched: unknown task "dst"`}},
		{"irq handler in ns", func(s string) string {
			return strings.Replace(s, "boot_delay: 50ms", "boot_delay: 50ms\nirq_handler: 1500ns", 1)
		},
			[]string{`demo.yaml: irq_handler: 1.5µs must be >= 0 and a whole number of microseconds`}},
		{"best above worst", func(s string) string { return strings.Replace(s, "3ms..6ms", "6ms..3ms", 1) },
			[]string{`tasks[2].body[2]: compute 6ms..3ms: want 0 <= best <= worst`}},
		{"segment with two kinds", func(s string) string {
			return strings.Replace(s, "- lock: bus\n      - compute: 2ms", "- lock: bus\n        compute: 2ms", 1)
		},
			[]string{`tasks[1].body[1]: want exactly one of compute, lock or unlock`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "demo.yaml")
			edited := c.edit(string(demo))
			if edited == string(demo) {
				t.Fatal("edit did not apply")
			}
			if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadProfile(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrProfile) {
				t.Errorf("error %v is not ErrProfile", err)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, want := range c.wantParts {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, want)
				}
				if !found {
					t.Errorf("no error line contains %q in:\n%v", want, err)
				}
			}
			if len(lines) != len(c.wantParts) {
				t.Errorf("%d problems reported, want %d:\n%v", len(lines), len(c.wantParts), err)
			}
		})
	}
}

func TestValidateCollectsEverything(t *testing.T) {
	p := &Profile{Name: "bad name", Locks: []string{"m", "m"}, Monitor: &Monitor{Task: "x", Watched: "a"},
		Tasks: []TaskSpec{
			{Name: "a", Period: 0, Body: []Segment{lockSeg("nope")}},
			{Name: "a", Period: 10 * ms, Body: []Segment{compute(1500*time.Nanosecond, 2*ms)}},
			{Name: LoadTaskName, Period: 10 * ms, Body: []Segment{fixed(1 * ms)}},
		}}
	err := p.Validate()
	for _, want := range []string{"name:", "locks[1]: duplicate", "tasks[0].period", "tasks[0].body[0]: unknown lock",
		"tasks[1].name: duplicate", "tasks[1].body[0]: compute", "tasks[2].name: task name \"load\" is reserved", "monitor.task: unknown task"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%v: no FieldError", err)
	}
	if p, _ := Lookup("pathfinder"); p.Validate() != nil {
		t.Fatalf("pathfinder: %v", p.Validate())
	}
}

func TestLookup(t *testing.T) {
	if got := Profiles(); len(got) != 1 || got[0] != "pathfinder" {
		t.Fatalf("Profiles() = %v", got)
	}
	a, _ := Lookup("pathfinder")
	a.Tasks[0].Body[0].Worst = time.Hour
	b, _ := Lookup("pathfinder")
	if b.Tasks[0].Body[0].Worst == time.Hour {
		t.Fatal("Lookup returns shared data")
	}
	if _, err := Lookup("voyager"); !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("Lookup(voyager) = %v", err)
	}
	for _, s := range []string{"none", "inherit", "ceiling"} {
		p, err := ParseProtocol(s)
		if err != nil || p.String() != s {
			t.Fatalf("ParseProtocol(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseProtocol("pip"); !errors.Is(err, ErrProtocol) {
		t.Fatalf("ParseProtocol(pip) = %v", err)
	}
}
