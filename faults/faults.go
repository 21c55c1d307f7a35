// Package faults holds the fault kinds a campaign can inject and the
// schedules that say when. A kind is a small type registered by name, one
// file per kind; a schedule is a pure function of the run's random source,
// so the same campaign and seed always give the same fault list.
package faults

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Fault is one configured fault. Its single method turns it into the command
// the board executes, resolving task and lock names against what the board
// declared.
type Fault interface {
	Command(b Names) (wire.FaultCmd, error)
}

// Names resolves the task and lock names a board declared.
type Names interface {
	TaskIndex(name string) (int, bool)
	LockIndex(name string) (int, bool)
}

// Validator is a fault whose own fields can be checked without a board.
// Each returned error should be a *FieldError naming the field.
type Validator interface {
	Validate() []error
}

// Idler is a fault that, as configured, changes nothing (a lock hold of 0
// extra, the bottom of a sweep). Its firings are left out of the plan.
type Idler interface {
	Idle() bool
}

// FieldError is a problem with one field of a campaign.
type FieldError struct {
	Field string // path such as faults[1].extra
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Prefix returns errs with every FieldError's path put under prefix.
func Prefix(prefix string, errs []error) []error {
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		var fe *FieldError
		if errors.As(err, &fe) {
			f := prefix
			if fe.Field != "" {
				if strings.HasPrefix(fe.Field, "[") {
					f += fe.Field
				} else {
					f += "." + fe.Field
				}
			}
			out = append(out, &FieldError{Field: f, Err: fe.Err})
			continue
		}
		out = append(out, &FieldError{Field: prefix, Err: err})
	}
	return out
}

var (
	mu    sync.RWMutex
	kinds = map[string]func() Fault{}
)

// Register makes a fault kind available by name. It panics on a duplicate.
func Register(kind string, newFault func() Fault) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[kind]; dup {
		panic("faults: kind registered twice: " + kind)
	}
	kinds[kind] = newFault
}

// Kinds lists the registered kind names.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Decode builds a fault of the named kind from its own parameters (the
// fault entry's keys other than name, kind and schedule). It reports every
// problem, unknown keys included, as *FieldError values.
func Decode(kind string, params map[string]any) (Fault, []error) {
	mu.RLock()
	mk, ok := kinds[kind]
	mu.RUnlock()
	if !ok {
		return nil, []error{&FieldError{Field: "kind", Err: fmt.Errorf("unknown fault kind %q (known: %s)", kind, strings.Join(Kinds(), ", "))}}
	}
	f := mk()
	errs := DecodeStrict(params, f)
	if len(errs) > 0 {
		return nil, errs
	}
	if v, ok := f.(Validator); ok {
		errs = append(errs, v.Validate()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// DecodeStrict decodes in into out (a pointer to a struct with mapstructure
// tags), turning strings such as "30ms" into durations, and reports unknown
// keys and type mismatches as *FieldError values.
func DecodeStrict(in any, out any) []error {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationHook,
			mapstructure.StringToTimeDurationHookFunc(),
		),
		Metadata:         &md,
		Result:           out,
		WeaklyTypedInput: false,
	})
	if err != nil {
		panic(err)
	}
	var errs []error
	if err := dec.Decode(in); err != nil {
		errs = append(errs, decodeErrors(err)...)
	}
	sort.Strings(md.Unused)
	for _, k := range md.Unused {
		errs = append(errs, &FieldError{Field: k, Err: errors.New("unknown key")})
	}
	return errs
}

// durationHook lets a plain integer mean nanoseconds nowhere: a bare number
// for a duration is almost always a unit mistake, so it is rejected.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Uint64:
		return nil, fmt.Errorf("duration %v has no unit (write e.g. \"%vms\")", data, data)
	}
	return data, nil
}

// decodeErrors splits a mapstructure error into one FieldError per field.
func decodeErrors(err error) []error {
	var out []error
	var leaves []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		leaves = append(leaves, e)
	}
	walk(err)
	for _, e := range leaves {
		msg := e.Error()
		field := ""
		// mapstructure writes "'path' message" or "decoding failed due to ...".
		if i := strings.Index(msg, "'"); i >= 0 {
			if j := strings.Index(msg[i+1:], "'"); j >= 0 {
				field = msg[i+1 : i+1+j]
				msg = strings.TrimSpace(msg[:i] + msg[i+1+j+1:])
			}
		}
		msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
		msg = strings.TrimSpace(msg)
		out = append(out, &FieldError{Field: field, Err: errors.New(msg)})
	}
	return out
}

// Params lists the parameter names of a fault kind (its mapstructure keys)
// with their Go types, so a sweep can tell a duration from a number.
func Params(kind string) (map[string]reflect.Type, bool) {
	mu.RLock()
	mk, ok := kinds[kind]
	mu.RUnlock()
	if !ok {
		return nil, false
	}
	t := reflect.TypeOf(mk())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out, true
}
