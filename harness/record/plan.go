package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// PlanFile names, inside a results directory, the plan its runs belong to.
const PlanFile = "plan.json"

// PlanID is what makes runs comparable: a results directory holds runs of
// one plan only, so a report, a resume and a gate never mix two.
type PlanID struct {
	Campaign     string `json:"campaign"`
	CampaignHash string `json:"campaign_hash"`
	Seed         uint64 `json:"seed"`
	Target       string `json:"target"`
	DurationUS   int64  `json:"duration_us"`
	// Runs is how many runs the plan has (a search: the most it may
	// need), so a report can name the runs a directory lacks.
	Runs   int    `json:"runs"`
	Search string `json:"search,omitempty"`
	// What a report needs beyond the records: the campaign's own version
	// and its requirements' texts (id -> text).
	CampaignVersion string            `json:"campaign_version,omitempty"`
	Requirements    map[string]string `json:"requirements,omitempty"`
	// Sweep, for a sweeping campaign: what a report needs to say what the
	// sweep (or search) found from the records alone.
	Sweep *PlanSweep `json:"sweep,omitempty"`
}

// PlanSweep is the swept parameter of a plan. Numbers are µs for
// durations.
type PlanSweep struct {
	Fault        string   `json:"fault"`
	Param        string   `json:"param"`
	IsTime       bool     `json:"is_time,omitempty"`
	Nominal      string   `json:"nominal"`
	NominalNum   float64  `json:"nominal_value"`
	MinMargin    string   `json:"min_margin,omitempty"`
	MinMarginNum *float64 `json:"min_margin_value,omitempty"`
}

// Qualify fills the summary's qualification evidence from its runs:
// firmware identity, harness version, wall-clock span.
func Qualify(sum *Summary) {
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if sum.Firmware == nil && r.Firmware.Name != "" {
			fw := r.Firmware
			sum.Firmware = &fw
		}
		if r.Host == nil {
			continue
		}
		if sum.Harness == "" {
			sum.Harness = r.Host.Harness
		}
		if r.Host.Start != "" && (sum.Started == "" || r.Host.Start < sum.Started) {
			sum.Started = r.Host.Start
		}
		if r.Host.End > sum.Ended {
			sum.Ended = r.Host.End
		}
	}
}

// PlanOf is the plan a record belongs to (without its run count).
func PlanOf(r *RunRecord) PlanID {
	return PlanID{Campaign: r.Campaign, CampaignHash: r.CampaignHash, Seed: r.CampaignSeed, Target: r.Target, DurationUS: r.DurationUS}
}

// Differs names the first field in which two plans differ, with both
// values, or returns "" when they are the same plan.
func (p PlanID) Differs(q PlanID) (field, mine, theirs string) {
	for _, f := range []struct{ name, a, b string }{
		{"campaign", p.Campaign + " (" + p.CampaignHash + ")", q.Campaign + " (" + q.CampaignHash + ")"},
		{"seed", fmt.Sprint(p.Seed), fmt.Sprint(q.Seed)},
		{"target", p.Target, q.Target},
		{"duration", fmt.Sprint(p.DurationUS) + " µs", fmt.Sprint(q.DurationUS) + " µs"},
	} {
		if f.a != f.b {
			return f.name, f.a, f.b
		}
	}
	return "", "", ""
}

// OtherPlanError is a results directory that holds runs of another plan.
type OtherPlanError struct {
	Dir                string
	Field, Here, There string
}

func (e *OtherPlanError) Error() string {
	return fmt.Sprintf("%s holds runs of another plan (%s %s there, %s here): use another directory, or an empty one",
		e.Dir, e.Field, e.There, e.Here)
}

// LockedError is a results directory another process is writing into.
type LockedError struct {
	Dir string
	Err error
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is in use by another hilchaos (%v): wait for it, or use another directory", e.Dir, e.Err)
}
func (e *LockedError) Unwrap() error { return e.Err }

// lockFile takes an exclusive flock on f without waiting.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("locked")
	}
	return err
}

// ReadPlan reads DIR/plan.json; ok is false when there is none.
func ReadPlan(dir string) (p PlanID, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, false, fmt.Errorf("%s: %w", filepath.Join(dir, PlanFile), err)
	}
	return p, true, nil
}

// OpenStoreFor opens and locks a results directory for the runs of plan
// id. A directory holding runs of another plan (campaign content, seed,
// target or board duration) is refused with *OtherPlanError, unless it
// holds no runs at all; the plan is written to DIR/plan.json and synced
// before any run is.
func OpenStoreFor(dir string, id PlanID) (*Store, error) {
	s, err := OpenStore(dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Store, error) { s.Close(); return nil, err }
	have, ok, err := ReadPlan(dir)
	if err != nil {
		return fail(err)
	}
	recs, _, err := ReadRuns(dir)
	if err != nil {
		return fail(err)
	}
	if !ok && len(recs) > 0 {
		have, ok = PlanOf(&recs[0]), true // a directory from before plan.json
	}
	if ok && len(recs) > 0 {
		if f, here, there := id.Differs(have); f != "" {
			return fail(&OtherPlanError{Dir: dir, Field: f, Here: here, There: there})
		}
		for i := range recs {
			if f, here, there := id.Differs(PlanOf(&recs[i])); f != "" {
				return fail(&OtherPlanError{Dir: dir, Field: f, Here: here, There: there})
			}
		}
		id.Runs = max(id.Runs, have.Runs)
	}
	if err := writeSynced(filepath.Join(dir, PlanFile), id); err != nil {
		return fail(err)
	}
	return s, nil
}

// writeSynced writes v as JSON to path through a synced temporary file
// and a rename, so path is always whole.
func writeSynced(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, werr := f.Write(append(b, '\n'))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
