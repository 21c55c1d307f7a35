package harness

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/harness/drive"
	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// ReferenceNone is the reference value that turns scoring off: runs are
// judged by their checks alone and carry no score.
const ReferenceNone = record.ReferenceNone

// Scored reports whether the campaign's runs are scored against a
// reference.
func (c *Campaign) Scored() bool { return c.Reference != ReferenceNone }

// MaxFaultLog is how many firings (the first ones) a run record lists one
// by one; FaultsPlanned counts them all. A run of a million hours keeps a
// record of bounded size.
const MaxFaultLog = 10000

// burstWindow is how many of the latest firings are remembered for the
// analysis (a load burst's priority, asked when the board reports it
// began): the board holds at most two seconds of faults ahead.
const burstWindow = 8192

// boardFaults is one run's plan bound to the table a board declared: the
// command each fault becomes on that board, and its firings phased against
// that board's tasks, generated as the run asks for them.
type boardFaults struct {
	firings *Firings
	cmds    map[*FaultSpec]wire.FaultCmd
	// log is the first MaxFaultLog firings handed out; planned counts all.
	log     []PlannedFault
	planned int
	// recent is a ring of the latest firings, by ID modulo burstWindow,
	// grown as IDs come: a run that plans a hundred faults does not
	// allocate (and clear) room for thousands.
	recent []recentFiring
}

// recentFiring is what burstPriority needs of a firing.
type recentFiring struct {
	id   uint32
	spec *FaultSpec
}

// Next implements drive.Source: the next firing with the command that
// carries it on this board.
func (b *boardFaults) Next() (drive.Fault, wire.FaultCmd, bool) {
	pf, ok := b.firings.Next()
	if !ok {
		return drive.Fault{}, wire.FaultCmd{}, false
	}
	if len(b.log) < MaxFaultLog {
		b.log = append(b.log, pf)
	}
	b.planned++
	i := int(pf.ID % burstWindow)
	if i >= len(b.recent) {
		b.recent = append(b.recent, make([]recentFiring, i+1-len(b.recent))...)
	}
	b.recent[i] = recentFiring{id: pf.ID, spec: pf.spec}
	if pc, ok := pf.spec.Fault.(*faults.PowerCycle); ok {
		// The host's to carry out, never the board's.
		return drive.Fault{ID: pf.ID, AtUS: pf.At, Power: true, Off: pc.Off, Name: pf.Name}, wire.FaultCmd{}, true
	}
	fc := b.cmds[pf.spec]
	fc.ID = pf.ID
	return drive.Fault{ID: pf.ID, AtUS: pf.At}, fc, true
}

// burstPriority gives the priority of load-burst firing id, for the
// inversion analysis.
func (b *boardFaults) burstPriority(id uint32) (int, bool) {
	i := int(id % burstWindow)
	if i >= len(b.recent) {
		return 0, false
	}
	pf := b.recent[i]
	if pf.spec == nil || pf.id != id {
		return 0, false
	}
	if lb, ok := pf.spec.Fault.(*faults.LoadBurst); ok {
		return lb.Priority, true
	}
	return 0, false
}

// bind checks plan p of c against the table the board at target declared
// and returns its faults phased against that table. Task and lock names
// only the board can answer are checked here, each problem naming the
// campaign field and the board's table; for the board under test (not the
// reference run) the reference is compared with the table task by task.
// Any problem is an *InvalidError: the campaign does not fit this board.
func (c *Campaign) bind(target string, tbl *wire.Table, p *RunPlan, underTest bool) (*boardFaults, error) {
	var errs []error
	who := fmt.Sprintf("the board at %s", target)
	b := &boardFaults{cmds: map[*FaultSpec]wire.FaultCmd{}}
	cycle := TableCycle(tbl)
	for i := range p.specs {
		spec := &p.specs[i]
		field := fmt.Sprintf("faults[%d]", i)
		if spec.Fault == nil {
			continue
		}
		if spec.Schedule.Phase != nil {
			for _, e := range faults.Prefix(field+".schedule", spec.Schedule.Validate(cycle)) {
				errs = append(errs, fmt.Errorf("%v (%s: %s)", e, who, describeTasks(tbl)))
			}
		}
		if idle, ok := spec.Fault.(faults.Idler); ok && idle.Idle() {
			continue
		}
		rec := &missingNames{n: tbl}
		fc, err := spec.Fault.Command(rec)
		if err != nil {
			errs = append(errs, rec.explain(field, who, tbl, err))
			continue
		}
		b.cmds[spec] = fc
	}
	tasks := map[string]bool{}
	for _, t := range tbl.Tasks {
		tasks[t.Name] = true
	}
	for i, ch := range c.Checks {
		if _, err := ParseCheck(ch.Expr, tasks); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("checks[%d]", i), "%v, as %s declares them", err, who))
		}
	}
	if underTest {
		errs = append(errs, c.compareReference(target, tbl)...)
	}
	if len(errs) > 0 {
		return nil, &InvalidError{Path: c.Path, Context: "does not fit " + who, Problems: errs}
	}
	b.firings = p.Firings(cycle)
	return b, nil
}

// compareReference compares the reference model's task table with the
// board's, task by task: names, priorities, periods and locks. Every
// difference names both sides.
func (c *Campaign) compareReference(target string, tbl *wire.Table) []error {
	if !c.Scored() {
		return nil
	}
	ref, err := simProfile(c.Reference)
	if err != nil {
		return []error{fieldErr("reference", "%v", err)}
	}
	board := fmt.Sprintf("the board at %s", target)
	model := fmt.Sprintf("the reference %s", c.Reference)
	var errs []error
	seen := map[string]bool{}
	for _, rt := range ref.Tasks {
		seen[rt.Name] = true
		bt, ok := tableTask(tbl, rt.Name)
		if !ok {
			errs = append(errs, fieldErr("reference", "task %q: %s declares it (priority %d, period %v); %s does not (%s)", rt.Name, model, rt.Priority, rt.Period, board, describeTasks(tbl)))
			continue
		}
		bp := time.Duration(bt.Period) * time.Microsecond
		if bt.Priority != rt.Priority || bp != rt.Period {
			errs = append(errs, fieldErr("reference", "task %q: %s declares priority %d, period %v; %s declares priority %d, period %v", rt.Name, board, bt.Priority, bp, model, rt.Priority, rt.Period))
		}
	}
	for _, bt := range tbl.Tasks {
		if bt.Name == firmware.LoadTaskName || seen[bt.Name] {
			continue
		}
		errs = append(errs, fieldErr("reference", "task %q: %s declares it (priority %d, period %v); %s does not (its tasks: %s)", bt.Name, board, bt.Priority, time.Duration(bt.Period)*time.Microsecond, model, strings.Join(profileTaskNames(ref), ", ")))
	}
	refLocks := append([]string(nil), ref.Locks...)
	var boardLocks []string
	for _, l := range tbl.Locks {
		boardLocks = append(boardLocks, l.Name)
	}
	sort.Strings(refLocks)
	sort.Strings(boardLocks)
	if strings.Join(refLocks, ",") != strings.Join(boardLocks, ",") {
		errs = append(errs, fieldErr("reference", "locks: %s declares [%s]; %s declares [%s]", board, strings.Join(boardLocks, ", "), model, strings.Join(refLocks, ", ")))
	}
	if len(errs) > 0 {
		errs = append(errs, fieldErr("reference", "name a model of this board's task set (reference: sim:///path/to/taskset.yaml?mutex=inherit), or write reference: none to run the checks without a score"))
	}
	return errs
}

func tableTask(tbl *wire.Table, name string) (wire.TaskInfo, bool) {
	for _, t := range tbl.Tasks {
		if t.Name == name {
			return t, true
		}
	}
	return wire.TaskInfo{}, false
}

func profileTaskNames(p *firmware.Profile) []string {
	out := make([]string, 0, len(p.Tasks))
	for _, t := range p.Tasks {
		out = append(out, t.Name)
	}
	return out
}

// describeTasks lists a table's tasks and locks for an error message.
func describeTasks(tbl *wire.Table) string {
	var ts, ls []string
	for _, t := range tbl.Tasks {
		ts = append(ts, t.Name)
	}
	for _, l := range tbl.Locks {
		ls = append(ls, l.Name)
	}
	return fmt.Sprintf("tasks %s; locks %s", orNone(ts), orNone(ls))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// missingNames resolves names against a table and remembers the ones it
// did not find, so the error can name the table it asked.
type missingNames struct {
	n           faults.Names
	task, lock  string
	missingTask bool
	missingLock bool
}

func (m *missingNames) TaskIndex(name string) (int, bool) {
	i, ok := m.n.TaskIndex(name)
	if !ok {
		m.task, m.missingTask = name, true
	}
	return i, ok
}

func (m *missingNames) LockIndex(name string) (int, bool) {
	i, ok := m.n.LockIndex(name)
	if !ok {
		m.lock, m.missingLock = name, true
	}
	return i, ok
}

// explain turns a fault's failed name lookup into an error that names the
// campaign field and the table that lacks the name.
func (m *missingNames) explain(field, who string, tbl *wire.Table, err error) error {
	switch {
	case m.missingTask:
		return fieldErr(field+".task", "%s declares no task %q (%s)", who, m.task, describeTasks(tbl))
	case m.missingLock:
		return fieldErr(field+".lock", "%s declares no lock %q (%s)", who, m.lock, describeTasks(tbl))
	}
	return faults.Prefix(field, []error{err})[0]
}

// profileTable is the table a simulated board of profile p declares.
func profileTable(p *firmware.Profile) *wire.Table {
	t := &wire.Table{}
	for i, tk := range p.Tasks {
		t.Tasks = append(t.Tasks, wire.TaskInfo{Index: i, Name: tk.Name, Priority: tk.Priority,
			Period: tk.Period.Microseconds(), Offset: tk.Offset.Microseconds()})
	}
	t.Tasks = append(t.Tasks, wire.TaskInfo{Index: len(p.Tasks), Name: firmware.LoadTaskName})
	for i, l := range p.Locks {
		t.Locks = append(t.Locks, wire.LockInfo{Index: i, Name: l})
	}
	return t
}

// endUS is the run time an observation reached.
func endUS(obs *Observation) int64 {
	if obs == nil {
		return 0
	}
	return obs.EndUS
}

// PlanID is the identity of the campaign's plan that a results directory
// is kept for.
func (c *Campaign) PlanID() record.PlanID {
	id := record.PlanID{Campaign: c.Name, CampaignHash: c.Hash, Seed: c.Seed, Target: c.Target, DurationUS: c.Duration.Microseconds(), Runs: c.Runs(),
		CampaignVersion: c.Version, Requirements: c.Requirements}
	if s := c.Sweep; s != nil {
		id.Search = s.Search
		id.Sweep = &record.PlanSweep{Fault: s.Fault, Param: s.Param, IsTime: s.isTime, Nominal: s.Nominal.Text, NominalNum: s.Nominal.Num}
		if s.MinMargin != nil {
			id.Sweep.MinMargin, id.Sweep.MinMarginNum = s.MinMargin.Text, &s.MinMargin.Num
		}
	}
	return id
}

// TracePath is where run p's wire stream is stored, relative to the
// results directory: named by the run's key, so no run of another plan,
// seed or sweep value can overwrite it.
func TracePath(c *Campaign, p RunPlan) string {
	k := KeyOf(c, p)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%d\x00%s", k.CampaignHash, k.Index, k.Seed, k.Target, k.DurationUS, k.SweepValue)
	return filepath.Join(tracelog.Dir, fmt.Sprintf("run-%d-%016x.wire.gz", p.Index, h.Sum64()))
}
