// Package harness is the controller: it loads a campaign, plans its runs,
// drives a target through each run, analyses the trace, scores it against
// the reference firmware and stores the record before the next run starts.
package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/hilchaos/hilchaos/faults"
	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/harness/score"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/sim"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Campaign is a validated campaign file.
type Campaign struct {
	Path        string
	Hash        string // sha256 of the file's bytes
	Name        string
	Description string
	Version     string // the campaign's own version, for qualification evidence
	Target      string
	Reference   string
	Duration    time.Duration
	Repeat      int
	Seed        uint64
	Trace       int
	MinScore    float64
	// MinJobs is how many jobs each checked task must show before a
	// verdict (min_jobs); 0 means score.DefaultMinJobs.
	MinJobs int
	// MaxLoss is the share of telemetry events a run may lose before it
	// is inconclusive (max_loss); 0 means score.DefaultMaxLoss.
	MaxLoss float64
	// ExpectResets lists the reset kinds (watchdog, software, power_on,
	// hang, unknown) the campaign provokes on purpose: such resets are
	// recorded as "expected" and cost no points.
	ExpectResets []string
	Timeouts     Timeouts
	Faults       []FaultSpec
	Checks       []Check
	// Firmware, if set, is the identity the board under test must report.
	Firmware FirmwareSpec
	// Requirements maps requirement ids to their text; checks cite them.
	Requirements map[string]string
	// Sweep, if not nil, varies one fault parameter over a grid of values.
	Sweep *Sweep
	// OnRigError is what a run that ends in a rig error leads to
	// (on_rig_error; default retry 2).
	OnRigError RigErrorPolicy
}

// Timeouts bound how long the harness waits for a board.
type Timeouts struct {
	Boot      time.Duration `mapstructure:"boot"`      // from connect or reset to the BOOT banner
	Liveness  time.Duration `mapstructure:"liveness"`  // silence during a run that counts as a hang
	Reconnect time.Duration `mapstructure:"reconnect"` // how long to retry a port that went away
}

// FaultSpec is one entry of the campaign's faults list.
type FaultSpec struct {
	Name     string
	Kind     string
	Schedule faults.Schedule
	Fault    faults.Fault
	Params   map[string]any // the kind's own parameters as written
}

// FirmwareSpec is the firmware identity a campaign is written for. Empty
// fields match anything.
type FirmwareSpec struct {
	Name    string `mapstructure:"name" json:"name,omitempty"`
	Version string `mapstructure:"version" json:"version,omitempty"`
	Build   string `mapstructure:"build" json:"build,omitempty"`
}

// Matches reports whether the board's identity satisfies the spec.
func (f FirmwareSpec) Matches(fw Firmware) bool {
	return (f.Name == "" || f.Name == fw.Name) && (f.Version == "" || f.Version == fw.Version) && (f.Build == "" || f.Build == fw.Build)
}

// Defaults for fields a campaign may leave out.
const (
	DefaultTarget   = "sim://pathfinder?mutex=none"
	DefaultDuration = 30 * time.Second
)

// Limits a campaign must stay within: lint and run refuse values beyond
// them. Memory does not grow with either (plans and firings are generated
// as they are needed), but a campaign summary keeps one record per run.
const (
	MaxDuration = 1_000_000 * time.Hour // board time per run
	MaxRuns     = 100_000               // runs per campaign, sweep values included
)

// DefaultTimeouts apply where a campaign gives none.
var DefaultTimeouts = Timeouts{Boot: 5 * time.Second, Liveness: 3 * time.Second, Reconnect: 30 * time.Second}

var traceLevels = map[string]int{"summary": 0, "default": 1, "full": 2}

// rawCampaign is the file as written, before validation.
type rawCampaign struct {
	Name        string           `mapstructure:"name"`
	Description string           `mapstructure:"description"`
	Version     string           `mapstructure:"version"`
	Target      string           `mapstructure:"target"`
	Reference   string           `mapstructure:"reference"`
	Duration    *time.Duration   `mapstructure:"duration"`
	Repeat      *int             `mapstructure:"repeat"`
	Seed        *int64           `mapstructure:"seed"`
	Trace       string           `mapstructure:"trace"`
	MinScore    *float64         `mapstructure:"min_score"`
	MinJobs     *int             `mapstructure:"min_jobs"`
	MaxLoss     any              `mapstructure:"max_loss"` // a fraction (0.01) or a percentage ("1%")
	Timeouts    map[string]any   `mapstructure:"timeouts"`
	Faults      []map[string]any `mapstructure:"faults"`
	Checks      []any            `mapstructure:"checks"`
	Firmware    map[string]any   `mapstructure:"firmware"`
	// Requirements is a list of {id, text}, not a map: viper folds map
	// keys to lower case and requirement ids are case-sensitive.
	Requirements []map[string]any `mapstructure:"requirements"`
	Sweep        map[string]any   `mapstructure:"sweep"`
	// ExpectResets: reset kinds the campaign allows.
	ExpectResets []string `mapstructure:"expect_resets"`
	// OnRigError: "retry N", "skip" or "abort".
	OnRigError string `mapstructure:"on_rig_error"`
}

type rawFault struct {
	Name     string         `mapstructure:"name"`
	Kind     string         `mapstructure:"kind"`
	Schedule map[string]any `mapstructure:"schedule"`
	Rest     map[string]any `mapstructure:",remain"`
}

type rawCheck struct {
	Check       string `mapstructure:"check"`
	Requirement string `mapstructure:"requirement"`
}

// InvalidError is a campaign that cannot be used; Problems holds every
// problem found, each naming the field.
type InvalidError struct {
	Path string
	// Context says what the campaign is invalid for: empty for the file
	// itself, "does not fit the board at URL" for names only a board
	// could answer.
	Context  string
	Problems []error
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	what := "invalid campaign"
	if e.Context != "" {
		what = e.Context
	}
	fmt.Fprintf(&b, "%s: %s (%d problem", e.Path, what, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString(")")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %v", e.Path, p)
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *InvalidError) Unwrap() []error { return e.Problems }

// Overrides are command-line settings that take precedence over the file.
type Overrides struct {
	Target   string
	Seed     *uint64
	Repeat   int
	Duration time.Duration
}

// LoadCampaign reads, decodes and validates a campaign file (YAML, TOML or
// JSON by extension). Every problem is collected before it fails.
func LoadCampaign(path string, o Overrides) (*Campaign, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &InvalidError{Path: path, Problems: []error{err}}
	}
	sum := sha256.Sum256(data)
	c := &Campaign{Path: path, Hash: "sha256:" + hex.EncodeToString(sum[:])}
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	switch ext {
	case "yaml", "yml", "toml", "json":
	default:
		return nil, &InvalidError{Path: path, Problems: []error{fmt.Errorf("unknown file type %q: use .yaml, .toml or .json", filepath.Ext(path))}}
	}
	v := viper.New()
	v.SetConfigType(ext)
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &InvalidError{Path: path, Problems: []error{fmt.Errorf("syntax: %v", unwrapParse(err))}}
	}
	settings := v.AllSettings()
	var raw rawCampaign
	problems := faults.DecodeStrict(settings, &raw)
	problems = append(problems, c.fill(&raw, o)...)
	if len(problems) > 0 {
		return nil, &InvalidError{Path: path, Problems: problems}
	}
	return c, nil
}

func unwrapParse(err error) error {
	var pe viper.ConfigParseError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap()
	}
	return err
}

func fieldErr(field, format string, a ...any) error {
	return &faults.FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

// fill validates raw and copies it into c, applying overrides and defaults.
func (c *Campaign) fill(raw *rawCampaign, o Overrides) []error {
	var errs []error
	c.Name = raw.Name
	if c.Name == "" {
		errs = append(errs, fieldErr("name", "required"))
	}
	c.Description = raw.Description
	c.Target = firstNonEmpty(o.Target, raw.Target, DefaultTarget)
	if u, _, err := targets.Parse(c.Target); err != nil {
		errs = append(errs, fieldErr("target", "%v", err))
	} else if u.Scheme == "sim" {
		if _, err := simProfile(c.Target); err != nil {
			errs = append(errs, fieldErr("target", "%v", err))
		}
	}
	c.Reference = raw.Reference
	var refProfile *firmware.Profile
	switch {
	case c.Reference == ReferenceNone:
	case c.Reference == "" && !isSimURL(c.Target):
		errs = append(errs, fieldErr("reference", "required: the target %s is not a simulated model, so name the model of its task set to score it against (sim://PROFILE?mutex=inherit or sim:///path/to/taskset.yaml?mutex=inherit), or write reference: none to run the checks without a score", c.Target))
	default:
		if c.Reference == "" {
			c.Reference = defaultReference(c.Target)
		}
		var err error
		if refProfile, err = simProfile(c.Reference); err != nil {
			errs = append(errs, fieldErr("reference", "%v", err))
		}
	}
	c.Duration = DefaultDuration
	if raw.Duration != nil {
		c.Duration = *raw.Duration
		if c.Duration <= 0 {
			errs = append(errs, fieldErr("duration", "must be positive, got %v", c.Duration))
		}
	}
	durField := "duration"
	if o.Duration != 0 {
		c.Duration, durField = o.Duration, "--duration"
	}
	if c.Duration > MaxDuration {
		errs = append(errs, fieldErr(durField, "%v is beyond the limit of %v of board time per run", c.Duration, MaxDuration))
	}
	c.Repeat = 1
	if raw.Repeat != nil {
		c.Repeat = *raw.Repeat
		if c.Repeat < 1 {
			errs = append(errs, fieldErr("repeat", "must be at least 1, got %d", c.Repeat))
		}
	}
	if o.Repeat > 0 {
		c.Repeat = o.Repeat
	}
	if raw.Seed != nil {
		if *raw.Seed < 0 {
			errs = append(errs, fieldErr("seed", "must not be negative, got %d", *raw.Seed))
		}
		c.Seed = uint64(*raw.Seed)
	}
	if o.Seed != nil {
		c.Seed = *o.Seed
	}
	c.Trace = 1
	if raw.Trace != "" {
		lvl, ok := traceLevels[raw.Trace]
		if !ok {
			errs = append(errs, fieldErr("trace", "unknown level %q (known: summary, default, full)", raw.Trace))
		}
		c.Trace = lvl
	}
	if raw.MinScore != nil {
		c.MinScore = *raw.MinScore
		if c.MinScore < 0 || c.MinScore > 100 {
			errs = append(errs, fieldErr("min_score", "must be within 0..100, got %v", c.MinScore))
		}
	}
	if raw.MinJobs != nil {
		c.MinJobs = *raw.MinJobs
		if c.MinJobs < 1 {
			errs = append(errs, fieldErr("min_jobs", "must be at least 1, got %d", c.MinJobs))
		}
	}
	if raw.MaxLoss != nil {
		v, err := parseShare(raw.MaxLoss)
		if err != nil {
			errs = append(errs, fieldErr("max_loss", "%v", err))
		}
		c.MaxLoss = v
	}
	for i, k := range raw.ExpectResets {
		switch k {
		case ResetWatchdog, ResetSoftware, ResetPowerOn, ResetHang, ResetUnknown:
			c.ExpectResets = append(c.ExpectResets, k)
		default:
			errs = append(errs, fieldErr(fmt.Sprintf("expect_resets[%d]", i), "unknown reset kind %q (known: watchdog, software, power_on, hang, unknown)", k))
		}
	}
	if pol, err := ParseRigErrorPolicy(raw.OnRigError); err != nil {
		errs = append(errs, fieldErr("on_rig_error", "%v", err))
	} else {
		c.OnRigError = pol
	}
	c.Timeouts = DefaultTimeouts
	if raw.Timeouts != nil {
		errs = append(errs, faults.Prefix("timeouts", faults.DecodeStrict(raw.Timeouts, &c.Timeouts))...)
		// In file order, so lint prints the same lines every time.
		for _, t := range []struct {
			name string
			d    time.Duration
		}{{"boot", c.Timeouts.Boot}, {"liveness", c.Timeouts.Liveness}, {"reconnect", c.Timeouts.Reconnect}} {
			if t.d <= 0 {
				errs = append(errs, fieldErr("timeouts."+t.name, "must be positive, got %v", t.d))
			}
		}
	}

	// Names the faults and checks may use, as far as they are known
	// before a board boots: a simulated target's own table, else the
	// reference's (which the board must match task by task). A real
	// board's names are checked against the table it declares when it
	// connects.
	var static *wire.Table
	staticWho := ""
	if tp := mustSimProfile(c.Target); tp != nil {
		static, staticWho = profileTable(tp), "the board at "+c.Target
		if refProfile != nil {
			// A simulated board's table is known now: compare it with the
			// reference before anything runs.
			errs = append(errs, c.compareReference(c.Target, static)...)
		}
	} else if refProfile != nil {
		static, staticWho = profileTable(refProfile), "the reference "+c.Reference
	}
	var cycle faults.Cycle
	var taskSet map[string]bool
	if static != nil {
		cycle = TableCycle(static)
		taskSet = map[string]bool{}
		for _, t := range static.Tasks {
			taskSet[t.Name] = true
		}
	}

	for i, f := range raw.Faults {
		field := fmt.Sprintf("faults[%d]", i)
		var rf rawFault
		if fe := faults.DecodeStrict(f, &rf); len(fe) > 0 {
			errs = append(errs, faults.Prefix(field, fe)...)
			continue
		}
		spec := FaultSpec{Name: rf.Name, Kind: rf.Kind, Params: rf.Rest}
		if spec.Name == "" {
			spec.Name = fmt.Sprintf("%s-%d", rf.Kind, i)
		}
		if rf.Kind == "" {
			errs = append(errs, fieldErr(field+".kind", "required (known: %s)", strings.Join(faults.Kinds(), ", ")))
			continue
		}
		flt, fe := faults.Decode(rf.Kind, rf.Rest)
		errs = append(errs, faults.Prefix(field, fe)...)
		if flt != nil && static != nil {
			m := &missingNames{n: static}
			if _, err := flt.Command(m); err != nil {
				errs = append(errs, m.explain(field, staticWho, static, err))
			}
		}
		spec.Fault = flt
		if rf.Schedule == nil {
			errs = append(errs, fieldErr(field+".schedule", "required: when the fault fires (at, every, phase or poisson)"))
		} else {
			se := faults.DecodeStrict(rf.Schedule, &spec.Schedule)
			if len(se) == 0 {
				se = spec.Schedule.Validate(cycle)
			}
			errs = append(errs, faults.Prefix(field+".schedule", se)...)
		}
		c.Faults = append(c.Faults, spec)
	}

	for i, ch := range raw.Checks {
		field := fmt.Sprintf("checks[%d]", i)
		var rc rawCheck
		switch x := ch.(type) {
		case string:
			rc.Check = x
		case map[string]any:
			if fe := faults.DecodeStrict(x, &rc); len(fe) > 0 {
				errs = append(errs, faults.Prefix(field, fe)...)
				continue
			}
		default:
			errs = append(errs, fieldErr(field, "want a string such as \"resets.watchdog == 0\" or {check: ..., requirement: ...}"))
			continue
		}
		chk, err := ParseCheck(rc.Check, taskSet)
		if err != nil {
			errs = append(errs, fieldErr(field, "%v", err))
			continue
		}
		chk.Requirement = rc.Requirement
		c.Checks = append(c.Checks, chk)
	}
	c.Version = raw.Version
	if raw.Firmware != nil {
		errs = append(errs, faults.Prefix("firmware", faults.DecodeStrict(raw.Firmware, &c.Firmware))...)
	}
	errs = append(errs, c.fillRequirements(raw)...)
	if c.Requirements != nil {
		for i, ch := range c.Checks {
			if _, ok := c.Requirements[ch.Requirement]; ch.Requirement != "" && !ok {
				errs = append(errs, fieldErr(fmt.Sprintf("checks[%d].requirement", i), "%q is not declared under requirements (declared: %s)", ch.Requirement, strings.Join(slices.Sorted(maps.Keys(c.Requirements)), ", ")))
			}
		}
	}
	if raw.Sweep != nil {
		errs = append(errs, faults.Prefix("sweep", c.fillSweep(raw.Sweep))...)
	}
	// A fault that, as written, changes nothing is a mistake, unless a
	// sweep gives it its values (the bottom of a sweep may be 0).
	for i, f := range c.Faults {
		idle, ok := f.Fault.(faults.Idler)
		if !ok || !idle.Idle() || (c.Sweep != nil && c.Sweep.fault == i) {
			continue
		}
		field := fmt.Sprintf("faults[%d]", i)
		if _, given := f.Params["extra"]; !given && f.Kind == "lock-hold" {
			errs = append(errs, fieldErr(field+".extra", "required: how much longer the critical section lasts (e.g. extra: 20ms); without it the fault does nothing"))
			continue
		}
		errs = append(errs, fieldErr(field, "as written this %s changes nothing: give it an effect, or sweep it", f.Kind))
	}
	if n := c.Runs(); n > MaxRuns {
		field := "repeat"
		switch {
		case c.Sweep != nil:
			field = "sweep"
		case o.Repeat > 0:
			field = "--repeat"
		}
		errs = append(errs, fieldErr(field, "plans %d runs, beyond the limit of %d runs per campaign (split it, or use longer runs)", n, MaxRuns))
	}
	// resets.unexpected == 0 and resets.hang == 0 hold unless the campaign
	// writes its own check on those metrics.
	c.Checks = score.WithDefaults(c.Checks)
	return errs
}

// parseShare reads max_loss: a fraction within [0, 1) or a percentage
// such as "1%".
func parseShare(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case string:
		t := strings.TrimSpace(x)
		pct := strings.HasSuffix(t, "%")
		n, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a fraction such as 0.01 or a percentage such as 1%%", x)
		}
		f = n
		if pct {
			f = n / 100
		}
	default:
		return 0, fmt.Errorf("%v is not a fraction such as 0.01 or a percentage such as 1%%", v)
	}
	if f <= 0 || f >= 1 {
		return 0, fmt.Errorf("%v: want a share of events above 0 and below 1 (100%%)", v)
	}
	return f, nil
}

// Requirement is one entry of a campaign's requirements list.
type Requirement struct {
	ID   string `mapstructure:"id"`
	Text string `mapstructure:"text"`
}

// fillRequirements checks the requirements list: each id is unique, has
// text, and at least one check cites it.
func (c *Campaign) fillRequirements(raw *rawCampaign) []error {
	if raw.Requirements == nil {
		return nil
	}
	var errs []error
	c.Requirements = map[string]string{}
	cited := map[string]bool{}
	for _, ch := range c.Checks {
		cited[ch.Requirement] = true
	}
	for i, m := range raw.Requirements {
		field := fmt.Sprintf("requirements[%d]", i)
		var r Requirement
		if fe := faults.DecodeStrict(m, &r); len(fe) > 0 {
			errs = append(errs, faults.Prefix(field, fe)...)
			continue
		}
		switch {
		case r.ID == "":
			errs = append(errs, fieldErr(field+".id", "required, e.g. REQ-TIM-001"))
			continue
		case strings.TrimSpace(r.Text) == "":
			errs = append(errs, fieldErr(field+".text", "required: what %s demands", r.ID))
		}
		if _, dup := c.Requirements[r.ID]; dup {
			errs = append(errs, fieldErr(field+".id", "%q is declared twice", r.ID))
			continue
		}
		c.Requirements[r.ID] = r.Text
		if !cited[r.ID] {
			errs = append(errs, fieldErr(field+".id", "no check cites %s: add {check: ..., requirement: %s}", r.ID, r.ID))
		}
	}
	return errs
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// defaultReference is the target's own profile with priority inheritance
// (the 1997 fix) when the target is simulated, else the Pathfinder model.
func defaultReference(target string) string {
	u, err := url.Parse(target)
	if err == nil && u.Scheme == "sim" {
		q := u.Query()
		q.Set("mutex", "inherit")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return "sim://pathfinder?mutex=inherit"
}

// simProfile returns the profile a sim URL runs.
func simProfile(raw string) (*firmware.Profile, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "sim" {
		return nil, fmt.Errorf("%q: the reference must be a simulated board (sim://...)", raw)
	}
	s, err := sim.ParseURL(u)
	if err != nil {
		return nil, err
	}
	return s.Profile, nil
}

func mustSimProfile(raw string) *firmware.Profile {
	p, _ := simProfile(raw)
	return p
}

// isSimURL reports whether raw names a simulated board.
func isSimURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "sim"
}

func (f FirmwareSpec) String() string {
	var parts []string
	for _, p := range [][2]string{{"name", f.Name}, {"version", f.Version}, {"build", f.Build}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" "+p[1])
		}
	}
	return strings.Join(parts, ", ")
}

// expectsReset reports whether the campaign allows resets of kind.
func (c *Campaign) expectsReset(kind string) bool {
	for _, k := range c.ExpectResets {
		if k == kind {
			return true
		}
	}
	return false
}
