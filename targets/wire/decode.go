package wire

import (
	"errors"
	"fmt"
	"math"
)

// FieldError reports a frame whose fields do not decode: a number that is
// not one, out of range, a bad name or an unknown code. It matches
// ErrMalformed with errors.Is.
type FieldError struct {
	Type  Type
	Index int    // 0-based field index
	Name  string // what the field holds ("seq", "kind", ...)
	Value string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("wire: %v field %d (%s): bad value %q", e.Type, e.Index+1, e.Name, e.Value)
}

// Is makes errors.Is(err, ErrMalformed) true for a FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrMalformed }

func (f *Frame) fieldErr(i int, name string) error {
	v := ""
	if i < f.NField {
		v = string(f.Fields[i])
	}
	return &FieldError{Type: f.Type, Index: i, Name: name, Value: v}
}

func (f *Frame) want(t Type) error {
	if f.Type != t {
		return fmt.Errorf("%w: %v frame, want %v", ErrWrongType, f.Type, t)
	}
	return nil
}

// parseUint parses a decimal unsigned number (leading zeros allowed).
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(b) > 20 {
		return 0, false
	}
	var v uint64
	if len(b) < 20 {
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			v = v*10 + uint64(d)
		}
		return v, true
	}
	for i, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		if i == 19 && (v > math.MaxUint64/10 || v == math.MaxUint64/10 && uint64(d) > math.MaxUint64%10) {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	return v, true
}

// parseInt parses a decimal number with an optional leading '-'.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := parseUint(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func (f *Frame) u64(i int, name string, err *error) uint64 {
	v, ok := parseUint(f.Fields[i])
	if !ok && *err == nil {
		*err = f.fieldErr(i, name)
	}
	return v
}

func (f *Frame) u32(i int, name string, err *error) uint32 {
	v, ok := parseUint(f.Fields[i])
	if (!ok || v > math.MaxUint32) && *err == nil {
		*err = f.fieldErr(i, name)
	}
	return uint32(v)
}

func (f *Frame) i64(i int, name string, err *error) int64 {
	v, ok := parseInt(f.Fields[i])
	if !ok && *err == nil {
		*err = f.fieldErr(i, name)
	}
	return v
}

func (f *Frame) i32(i int, name string, err *error) int32 {
	v, ok := parseInt(f.Fields[i])
	if (!ok || v < math.MinInt32 || v > math.MaxInt32) && *err == nil {
		*err = f.fieldErr(i, name)
	}
	return int32(v)
}

func (f *Frame) int(i int, name string, err *error) int {
	v, ok := parseInt(f.Fields[i])
	if (!ok || v < math.MinInt || v > math.MaxInt) && *err == nil {
		*err = f.fieldErr(i, name)
	}
	return int(v)
}

// name returns a field as a string. ParseFrame already restricted every
// field to [A-Za-z0-9_.-]+, which is the name syntax.
func (f *Frame) name(i int) string { return string(f.Fields[i]) }

// Event decodes an EV or BX frame. It does not allocate unless it fails.
func (f *Frame) Event() (Event, error) {
	// Small enough to be inlined: an EV frame the Reader decoded (evOK
	// is only ever set on one) costs its caller no call.
	if f.evOK {
		return f.ev, nil
	}
	return f.eventSlow()
}

func (f *Frame) eventSlow() (Event, error) {
	if f.Type != TypeEvent && f.Type != TypeBlackBox {
		return Event{}, fmt.Errorf("%w: %v frame, want EV or BX", ErrWrongType, f.Type)
	}
	var err error
	ev := Event{Task: NoTask}
	ev.Seq = f.u32(0, "seq", &err)
	ev.Time = f.u64(1, "time_us", &err)
	ev.Kind = KindOf(f.Fields[2])
	if ev.Kind == EvInvalid && err == nil {
		err = f.fieldErr(2, "kind")
	}
	if f.NField > 3 {
		ev.Task = f.i32(3, "task", &err)
	}
	if f.NField > 4 {
		ev.Arg = f.i64(4, "arg", &err)
	}
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Boot decodes a BT frame.
func (f *Frame) Boot() (Boot, error) {
	if err := f.want(TypeBoot); err != nil {
		return Boot{}, err
	}
	var err error
	b := Boot{
		BootCount: f.u32(4, "bootcount", &err),
		Uptime:    f.u64(5, "uptime_us", &err),
		Proto:     ProtoV1,
	}
	if f.NField > 6 {
		b.Proto = f.u32(6, "proto", &err)
	}
	if err != nil {
		return Boot{}, err
	}
	b.Name, b.Version, b.Build, b.Reason = f.name(0), f.name(1), f.name(2), f.name(3)
	return b, nil
}

// Task decodes a TK frame.
func (f *Frame) Task() (TaskInfo, error) {
	if err := f.want(TypeTask); err != nil {
		return TaskInfo{}, err
	}
	var err error
	t := TaskInfo{
		Index:    f.int(0, "idx", &err),
		Priority: f.int(2, "prio", &err),
		Period:   f.i64(3, "period_us", &err),
		Deadline: f.i64(4, "deadline_us", &err),
		Offset:   f.i64(5, "offset_us", &err),
		WCET:     f.i64(6, "wcet_us", &err),
	}
	if err != nil {
		return TaskInfo{}, err
	}
	t.Name = f.name(1)
	return t, nil
}

// Lock decodes an LK frame.
func (f *Frame) Lock() (LockInfo, error) {
	if err := f.want(TypeLock); err != nil {
		return LockInfo{}, err
	}
	var err error
	l := LockInfo{
		Index:   f.int(0, "idx", &err),
		Ceiling: f.int(3, "ceiling", &err),
	}
	if err != nil {
		return LockInfo{}, err
	}
	l.Name, l.Protocol = f.name(1), f.name(2)
	return l, nil
}

// Summary decodes an SM frame. It does not allocate unless it fails.
func (f *Frame) Summary() (Summary, error) {
	if f.smOK {
		return f.sm, nil
	}
	if err := f.want(TypeSummary); err != nil {
		return Summary{}, err
	}
	var err error
	s := Summary{
		Seq:     f.u32(0, "seq", &err),
		Time:    f.u64(1, "time_us", &err),
		Task:    f.i32(2, "task", &err),
		Jobs:    f.u32(3, "jobs", &err),
		MaxResp: f.i64(4, "max_resp_us", &err),
		Misses:  f.u32(5, "misses", &err),
	}
	if err != nil {
		return Summary{}, err
	}
	return s, nil
}

// Crash decodes a CR frame.
func (f *Frame) Crash() (Crash, error) {
	if err := f.want(TypeCrash); err != nil {
		return Crash{}, err
	}
	var err error
	c := Crash{
		Time: f.u64(0, "time_us", &err),
		Task: f.i32(1, "task", &err),
		PC:   f.u32(2, "pc", &err),
		LR:   f.u32(3, "lr", &err),
		XPSR: f.u32(4, "xpsr", &err),
		CFSR: f.u32(5, "cfsr", &err),
	}
	if err != nil {
		return Crash{}, err
	}
	return c, nil
}

// IsCommand reports whether t is a host-to-board type (PG CF SF FN GO SP RS DP ID).
func IsCommand(t Type) bool { return t >= TypePing && t <= TypeIdentify }

// Command decodes a host-to-board frame (PG, CF, SF, FN, GO, SP, RS, DP).
// For SF and FN the fault kind must be LB, LH or IS with exactly its
// parameters; on such an error the returned Command still carries Type and
// ID (when they decoded), so a board can answer NK.
func (f *Frame) Command() (Command, error) {
	if !IsCommand(f.Type) {
		return Command{}, fmt.Errorf("%w: %v frame, want a command", ErrWrongType, f.Type)
	}
	var err error
	c := Command{Type: f.Type, ID: f.u32(0, "id", &err)}
	if err != nil {
		return c, err
	}
	switch f.Type {
	case TypeConfig:
		c.Key, c.Value = f.name(1), f.name(2)
	case TypeStart:
		c.Duration = f.u64(1, "duration_us", &err)
	case TypeSchedule:
		c.At = f.u64(1, "at_us", &err)
		if err == nil {
			err = f.fault(2, &c.Fault)
		}
	case TypeFire:
		err = f.fault(1, &c.Fault)
	}
	return c, err
}

// ErrFaultKind is returned (wrapped) by Frame.Command for an SF or FN frame
// whose fault kind is not known.
var ErrFaultKind = errors.New("wire: unknown fault kind")

// fault decodes faultid,kind,params... starting at field i.
func (f *Frame) fault(i int, fc *FaultCmd) error {
	var err error
	fc.ID = f.u32(i, "fault", &err)
	if err != nil {
		return err
	}
	// The known kinds come from constants: a board decoding a schedule
	// command then allocates nothing for it.
	switch k := f.Fields[i+1]; string(k) {
	case FaultLoadBurst:
		fc.Kind = FaultLoadBurst
	case FaultLockHold:
		fc.Kind = FaultLockHold
	case FaultIRQStorm:
		fc.Kind = FaultIRQStorm
	default:
		fc.Kind = f.name(i + 1)
	}
	p := i + 2 // first parameter
	np := f.NField - p
	switch fc.Kind {
	case FaultLoadBurst:
		if np != 2 {
			return fmt.Errorf("%w: %v %s fault needs 2 parameters (priority,length_us), got %d", ErrMalformed, f.Type, fc.Kind, np)
		}
		fc.Priority = f.int(p, "priority", &err)
		fc.Length = f.u64(p+1, "length_us", &err)
	case FaultLockHold:
		if np != 3 {
			return fmt.Errorf("%w: %v %s fault needs 3 parameters (task,lock,extra_us), got %d", ErrMalformed, f.Type, fc.Kind, np)
		}
		fc.Task = f.int(p, "task", &err)
		fc.Lock = f.int(p+1, "lock", &err)
		fc.Extra = f.u64(p+2, "extra_us", &err)
	case FaultIRQStorm:
		if np != 3 {
			return fmt.Errorf("%w: %v %s fault needs 3 parameters (priority,period_us,length_us), got %d", ErrMalformed, f.Type, fc.Kind, np)
		}
		fc.Priority = f.int(p, "priority", &err)
		fc.Period = f.u64(p+1, "period_us", &err)
		fc.Length = f.u64(p+2, "length_us", &err)
	default:
		return fmt.Errorf("%w %q in %v frame", ErrFaultKind, fc.Kind, f.Type)
	}
	return err
}

// Ack decodes an AK frame.
func (f *Frame) Ack() (id uint32, err error) {
	if err := f.want(TypeAck); err != nil {
		return 0, err
	}
	id = f.u32(0, "id", &err)
	return id, err
}

// Nak decodes an NK frame.
func (f *Frame) Nak() (id uint32, reason string, err error) {
	if err := f.want(TypeNak); err != nil {
		return 0, "", err
	}
	id = f.u32(0, "id", &err)
	if err != nil {
		return 0, "", err
	}
	return id, f.name(1), nil
}

// Done decodes a DN frame.
func (f *Frame) Done() (seq uint32, t uint64, err error) {
	if err := f.want(TypeDone); err != nil {
		return 0, 0, err
	}
	seq = f.u32(0, "seq", &err)
	t = f.u64(1, "time_us", &err)
	if err != nil {
		return 0, 0, err
	}
	return seq, t, nil
}

// TableEnd decodes a TE frame.
func (f *Frame) TableEnd() (ntasks, nlocks int, err error) {
	if err := f.want(TypeTableEnd); err != nil {
		return 0, 0, err
	}
	ntasks = f.int(0, "ntasks", &err)
	nlocks = f.int(1, "nlocks", &err)
	if err == nil && (ntasks < 0 || nlocks < 0) {
		err = f.fieldErr(0, "ntasks")
		if ntasks >= 0 {
			err = f.fieldErr(1, "nlocks")
		}
	}
	if err != nil {
		return 0, 0, err
	}
	return ntasks, nlocks, nil
}
