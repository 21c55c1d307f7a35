// Package farm is the rig farm: the rig inventory (rigs.yaml), the health
// of a pool of rigs during a campaign (consecutive errors, quarantine), and
// running a rig's own flash and power argv lists. It knows nothing of
// campaigns: the harness asks it for a rig, runs on it, and reports back.
package farm

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hilchaos/hilchaos/faults"
)

// Rig is one entry of the inventory.
type Rig struct {
	Name   string            `mapstructure:"name" json:"name"`
	Target string            `mapstructure:"target" json:"target"`
	Labels map[string]string `mapstructure:"labels" json:"labels,omitempty"`
	// Flash is the argv that writes a firmware image to the board, run
	// without a shell; {firmware} is replaced by the image path and
	// {port} by the target's path (/dev/ttyACM0 of serial:///dev/ttyACM0).
	Flash []string `mapstructure:"flash" json:"flash,omitempty"`
	// Power is the argv that power-cycles the board ({port} as for Flash).
	Power []string `mapstructure:"power" json:"power,omitempty"`
	// MaxConsecutiveErrors is how many rig errors in a row quarantine the
	// rig for the rest of the campaign (after a power cycle, if Power is
	// set). Default DefaultMaxConsecutiveErrors.
	MaxConsecutiveErrors int `mapstructure:"max_consecutive_errors" json:"max_consecutive_errors"`
	// CommandTimeout bounds each Flash or Power run. Default
	// DefaultCommandTimeout.
	CommandTimeout time.Duration `mapstructure:"command_timeout" json:"command_timeout,omitempty"`
}

// Defaults for the optional fields of a rig.
const (
	DefaultMaxConsecutiveErrors = 3
	DefaultCommandTimeout       = 2 * time.Minute
)

// Inventory is a validated rigs.yaml.
type Inventory struct {
	Path string
	Rigs []Rig
}

type rawInventory struct {
	Rigs []map[string]any `mapstructure:"rigs"`
}

// InvalidError is an inventory that cannot be used: every problem found,
// each naming the file and the field.
type InvalidError struct {
	Path     string
	Problems []error
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %v", e.Path, p)
	}
	return b.String()
}

func (e *InvalidError) Unwrap() []error { return e.Problems }

// Load reads and validates the inventory at path.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// SchemeChecker, if set, reports whether a target URL's scheme is known
// (the harness sets it to the registered target schemes); nil accepts any.
var SchemeChecker func(target string) error

// Parse validates an inventory's bytes; path names it in errors.
func Parse(path string, data []byte) (*Inventory, error) {
	fail := func(errs ...error) error { return &InvalidError{Path: path, Problems: errs} }
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(fmt.Errorf("YAML: %w", err))
	}
	if doc == nil {
		return nil, fail(field("rigs", "required: a list of rigs"))
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fail(errors.New("want a mapping with a rigs list at the top"))
	}
	var raw rawInventory
	errs := faults.DecodeStrict(top, &raw)
	if len(errs) > 0 {
		return nil, fail(errs...)
	}
	if len(raw.Rigs) == 0 {
		return nil, fail(field("rigs", "required: at least one rig"))
	}
	inv := &Inventory{Path: path}
	names := map[string]int{}
	targets := map[string]int{}
	for i, m := range raw.Rigs {
		at := fmt.Sprintf("rigs[%d]", i)
		var r Rig
		// A command written as one string would need a shell to split it,
		// and none is ever used: say so, and decode the rest of the rig so
		// its other problems are reported too.
		for _, k := range []string{"flash", "power"} {
			if s, ok := m[k].(string); ok {
				errs = append(errs, field(at+"."+k, "%q is one string: write the command as a list of arguments, e.g. [openocd, -f, board.cfg]; no shell splits it", s))
				delete(m, k)
			}
		}
		if fe := faults.DecodeStrict(m, &r); len(fe) > 0 {
			errs = append(errs, faults.Prefix(at, fe)...)
			continue
		}
		if r.Name == "" {
			errs = append(errs, field(at+".name", "required"))
		} else if strings.ContainsAny(r.Name, " \t\n/") {
			errs = append(errs, field(at+".name", "%q: no spaces or slashes", r.Name))
		} else if j, dup := names[r.Name]; dup {
			errs = append(errs, field(at+".name", "%q is also rigs[%d]", r.Name, j))
		} else {
			names[r.Name] = i
		}
		if r.Target == "" {
			errs = append(errs, field(at+".target", "required: the rig's target URL (serial:///dev/ttyACM0, tcp://host:port, ...)"))
		} else if _, err := url.Parse(r.Target); err != nil {
			errs = append(errs, field(at+".target", "%v", err))
		} else if SchemeChecker != nil && SchemeChecker(r.Target) != nil {
			errs = append(errs, field(at+".target", "%v", SchemeChecker(r.Target)))
		} else if j, dup := targets[r.Target]; dup {
			errs = append(errs, field(at+".target", "%q is also rigs[%d]'s: one board, one rig", r.Target, j))
		} else {
			targets[r.Target] = i
		}
		for _, l := range slices.Sorted(maps.Keys(r.Labels)) {
			if l == "" || strings.ContainsAny(l, "=, ") {
				errs = append(errs, field(at+".labels", "label name %q: no '=', ',' or spaces", l))
			}
		}
		errs = append(errs, checkArgv(at+".flash", r.Flash, true)...)
		errs = append(errs, checkArgv(at+".power", r.Power, false)...)
		if r.MaxConsecutiveErrors < 0 {
			errs = append(errs, field(at+".max_consecutive_errors", "must be at least 1, got %d", r.MaxConsecutiveErrors))
		}
		if r.MaxConsecutiveErrors == 0 {
			r.MaxConsecutiveErrors = DefaultMaxConsecutiveErrors
		}
		if r.CommandTimeout < 0 {
			errs = append(errs, field(at+".command_timeout", "must be positive, got %v", r.CommandTimeout))
		}
		if r.CommandTimeout == 0 {
			r.CommandTimeout = DefaultCommandTimeout
		}
		inv.Rigs = append(inv.Rigs, r)
	}
	if len(errs) > 0 {
		return nil, fail(errs...)
	}
	return inv, nil
}

// placeholders are the only {name}s an argv may use.
var placeholders = map[string]bool{"firmware": true, "port": true}

func checkArgv(at string, argv []string, isFlash bool) []error {
	if argv == nil {
		return nil
	}
	if len(argv) == 0 || argv[0] == "" {
		return []error{field(at, "an argv list starts with the program to run")}
	}
	var errs []error
	sawFirmware := false
	for i, a := range argv {
		rest := a
		for {
			open := strings.IndexByte(rest, '{')
			if open < 0 {
				break
			}
			end := strings.IndexByte(rest[open:], '}')
			if end < 0 {
				break
			}
			name := rest[open+1 : open+end]
			if !placeholders[name] {
				errs = append(errs, field(fmt.Sprintf("%s[%d]", at, i), "unknown placeholder {%s} (known: {firmware}, {port})", name))
			}
			if name == "firmware" {
				sawFirmware = true
				if !isFlash {
					errs = append(errs, field(fmt.Sprintf("%s[%d]", at, i), "{firmware} is only known to flash"))
				}
			}
			rest = rest[open+end+1:]
		}
	}
	if isFlash && !sawFirmware {
		errs = append(errs, field(at, "never names {firmware}: which image would it write?"))
	}
	return errs
}

func field(f, format string, a ...any) error {
	return &faults.FieldError{Field: f, Err: fmt.Errorf(format, a...)}
}

// Selector is a set of required labels: key=value pairs, all of which a
// rig must carry.
type Selector map[string]string

// ParseSelector reads "board=mps2-an385,rev=b" (empty: every rig).
func ParseSelector(s string) (Selector, error) {
	sel := Selector{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want key=value", part)
		}
		sel[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return sel, nil
}

// Matches reports whether r carries every label of sel.
func (sel Selector) Matches(r *Rig) bool {
	for k, v := range sel {
		if r.Labels[k] != v {
			return false
		}
	}
	return true
}

// String is the selector as ParseSelector reads it, keys sorted.
func (sel Selector) String() string {
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

// Select returns the rigs matching sel, in inventory order.
func (inv *Inventory) Select(sel Selector) []Rig {
	var out []Rig
	for i := range inv.Rigs {
		if sel.Matches(&inv.Rigs[i]) {
			out = append(out, inv.Rigs[i])
		}
	}
	return out
}
