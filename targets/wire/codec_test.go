package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// mk builds a frame line (with '\n') from its body, with a correct CRC.
func mk(body string) string {
	return fmt.Sprintf("$%s*%04X\n", body, CRC16([]byte(body)))
}

// crcBitwise is the textbook bit-at-a-time CRC-16/CCITT-FALSE.
func crcBitwise(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func TestCRC16CheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC16(123456789) = %04X, want 29B1", got)
	}
	if got := CRC16(nil); got != 0xFFFF {
		t.Fatalf("CRC16(empty) = %04X, want FFFF", got)
	}
}

func TestCRC16MatchesBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want := crcBitwise(p)
		if got := CRC16(p); got != want {
			t.Fatalf("len %d: CRC16 = %04X, bitwise %04X", n, got, want)
		}
		cut := 0
		if n > 0 {
			cut = rng.IntN(n)
		}
		if got := UpdateCRC16(CRC16(p[:cut]), p[cut:]); got != want {
			t.Fatalf("len %d cut %d: UpdateCRC16 = %04X, want %04X", n, cut, got, want)
		}
	}
}

// value is one round-trip case: encode with enc, decode with dec, compare.
type value struct {
	name string
	enc  func([]byte) []byte
	dec  func(*Frame) (any, error)
	want any
}

func evCase(name string, ev Event) value {
	return value{name, func(b []byte) []byte { return AppendEvent(b, ev) },
		func(f *Frame) (any, error) { return f.Event() }, ev}
}

func bxCase(name string, ev Event) value {
	return value{name, func(b []byte) []byte { return AppendBlackBox(b, ev) },
		func(f *Frame) (any, error) {
			if f.Type != TypeBlackBox {
				return nil, fmt.Errorf("type %v", f.Type)
			}
			return f.Event()
		}, ev}
}

func cmdCase(name string, c Command) value {
	return value{name, func(b []byte) []byte { return AppendCommand(b, c) },
		func(f *Frame) (any, error) { return f.Command() }, c}
}

type nak struct {
	id     uint32
	reason string
}
type done struct {
	seq uint32
	t   uint64
}
type tableEnd struct{ nt, nl int }

func roundTripCases() []value {
	const t53 = uint64(1) << 53
	vs := []value{
		evCase("ev-minimal", Event{Seq: 0, Time: 0, Kind: EvRun, Task: NoTask}),
		evCase("ev-task-only", Event{Seq: 1, Time: 125000, Kind: EvStart, Task: 3}),
		evCase("ev-notask-arg", Event{Seq: 2, Time: 7, Kind: EvFaultBegin, Task: NoTask, Arg: 42}),
		evCase("ev-full", Event{Seq: 17, Time: 1250000, Kind: EvRelease, Task: 1, Arg: 10}),
		evCase("ev-switch-idle", Event{Seq: 3, Time: 9, Kind: EvSwitch, Task: NoTask, Arg: 2}),
		evCase("ev-task0", Event{Seq: 4, Time: 9, Kind: EvWatchdogKick, Task: 0}),
		evCase("ev-negative-arg", Event{Seq: 5, Time: 1, Kind: EvPriority, Task: 2, Arg: -7}),
		evCase("ev-t53", Event{Seq: math.MaxUint32, Time: t53, Kind: EvEnd, Task: math.MaxInt32, Arg: math.MaxInt64}),
		evCase("ev-extremes", Event{Seq: 1, Time: math.MaxUint64, Kind: EvDropped, Task: math.MinInt32, Arg: math.MinInt64}),
		bxCase("bx", Event{Seq: 0, Time: t53 - 1, Kind: EvDeadlineMiss, Task: 1, Arg: 99}),
		bxCase("bx-wx", Event{Seq: 63, Time: 12, Kind: EvWatchdogExpiry, Task: NoTask}),
		{"boot", func(b []byte) []byte {
			return AppendBoot(b, Boot{"hilchaos-ref", "0.1.0", "g1a2b3c4", ReasonWatchdog, 4294967295, t53, ProtoV1})
		}, func(f *Frame) (any, error) { return f.Boot() },
			Boot{"hilchaos-ref", "0.1.0", "g1a2b3c4", ReasonWatchdog, 4294967295, t53, ProtoV1}},
		{"boot-v2", func(b []byte) []byte {
			return AppendBoot(b, Boot{"ref", "2", "b", ReasonSoftware, 3, 1200, ProtoV2})
		}, func(f *Frame) (any, error) { return f.Boot() },
			Boot{"ref", "2", "b", ReasonSoftware, 3, 1200, ProtoV2}},
		{"task", func(b []byte) []byte {
			return AppendTask(b, TaskInfo{0, "bc_sched", 250, 125000, 125000, 0, 5000})
		}, func(f *Frame) (any, error) { return f.Task() },
			TaskInfo{0, "bc_sched", 250, 125000, 125000, 0, 5000}},
		{"task-negative", func(b []byte) []byte {
			return AppendTask(b, TaskInfo{-1, "x", -5, -1, math.MinInt64, math.MaxInt64, 0})
		}, func(f *Frame) (any, error) { return f.Task() },
			TaskInfo{-1, "x", -5, -1, math.MinInt64, math.MaxInt64, 0}},
		{"lock", func(b []byte) []byte {
			return AppendLock(b, LockInfo{2, "bus.mutex-1", "ceiling", 250})
		}, func(f *Frame) (any, error) { return f.Lock() },
			LockInfo{2, "bus.mutex-1", "ceiling", 250}},
		{"table-end", func(b []byte) []byte { return AppendTableEnd(b, 7, 1) },
			func(f *Frame) (any, error) { nt, nl, err := f.TableEnd(); return tableEnd{nt, nl}, err },
			tableEnd{7, 1}},
		{"summary", func(b []byte) []byte {
			return AppendSummary(b, Summary{9, t53, NoTask, 8, -1, math.MaxUint32})
		}, func(f *Frame) (any, error) { return f.Summary() },
			Summary{9, t53, NoTask, 8, -1, math.MaxUint32}},
		{"ack", func(b []byte) []byte { return AppendAck(b, math.MaxUint32) },
			func(f *Frame) (any, error) { return f.Ack() }, uint32(math.MaxUint32)},
		{"nak", func(b []byte) []byte { return AppendNak(b, 5, "bad_fault") },
			func(f *Frame) (any, error) { id, r, err := f.Nak(); return nak{id, r}, err },
			nak{5, "bad_fault"}},
		{"done", func(b []byte) []byte { return AppendDone(b, 1234, t53) },
			func(f *Frame) (any, error) { s, tm, err := f.Done(); return done{s, tm}, err },
			done{1234, t53}},
		cmdCase("ping", Command{Type: TypePing, ID: 1}),
		cmdCase("config", Command{Type: TypeConfig, ID: 2, Key: "mutex", Value: "inherit"}),
		cmdCase("config-trace", Command{Type: TypeConfig, ID: 3, Key: "trace", Value: "2"}),
		cmdCase("schedule-lb", Command{Type: TypeSchedule, ID: 4, At: t53,
			Fault: FaultCmd{ID: 1, Kind: FaultLoadBurst, Priority: -3, Length: 20000}}),
		cmdCase("schedule-lh", Command{Type: TypeSchedule, ID: 5, At: 2500000,
			Fault: FaultCmd{ID: math.MaxUint32, Kind: FaultLockHold, Task: 6, Lock: 0, Extra: 30000}}),
		cmdCase("fire-lb", Command{Type: TypeFire, ID: 6, Fault: FaultCmd{ID: 2, Kind: FaultLoadBurst, Priority: 100, Length: 1}}),
		cmdCase("fire-lh", Command{Type: TypeFire, ID: 7, Fault: FaultCmd{ID: 3, Kind: FaultLockHold, Task: 4, Lock: 1, Extra: 0}}),
		cmdCase("schedule-is", Command{Type: TypeSchedule, ID: 11, At: 100000,
			Fault: FaultCmd{ID: 4, Kind: FaultIRQStorm, Priority: 2, Period: 200, Length: 50000}}),
		cmdCase("fire-is", Command{Type: TypeFire, ID: 12, Fault: FaultCmd{ID: 5, Kind: FaultIRQStorm, Priority: 0, Period: t53, Length: 1}}),
		cmdCase("start", Command{Type: TypeStart, ID: 8, Duration: t53}),
		cmdCase("start-forever", Command{Type: TypeStart, ID: 9}),
		cmdCase("stop", Command{Type: TypeStop, ID: 10}),
		cmdCase("reset", Command{Type: TypeReset, ID: math.MaxUint32}),
		cmdCase("dump", Command{Type: TypeDump, ID: 0}),
	}
	return vs
}

func TestRoundTripParseFrame(t *testing.T) {
	for _, v := range roundTripCases() {
		t.Run(v.name, func(t *testing.T) {
			line := v.enc([]byte("prefix"))
			if !bytes.HasPrefix(line, []byte("prefix$")) {
				t.Fatalf("encoder did not append: %q", line)
			}
			line = line[len("prefix"):]
			if len(line) > MaxFrame {
				t.Errorf("frame %q is %d bytes, more than MaxFrame", line, len(line))
			}
			if line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("frame %q does not end in exactly one newline", line)
			}
			var f Frame
			if err := ParseFrame(line, &f); err != nil {
				t.Fatalf("ParseFrame(%q): %v", line, err)
			}
			if !bytes.Equal(f.Line, line[:len(line)-1]) {
				t.Errorf("Line = %q", f.Line)
			}
			got, err := v.dec(&f)
			if err != nil {
				t.Fatalf("decode %q: %v", line, err)
			}
			if !reflect.DeepEqual(got, v.want) {
				t.Errorf("%q decoded to %+v, want %+v", line, got, v.want)
			}
		})
	}
}

func TestRoundTripReader(t *testing.T) {
	cases := roundTripCases()
	var stream []byte
	for _, v := range cases {
		stream = v.enc(stream)
	}
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one-byte": func(r io.Reader) io.Reader { return iotest.OneByteReader(r) },
		"timeouts": func(r io.Reader) io.Reader { return &timeoutEveryOther{r: r} },
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReader(wrap(bytes.NewReader(stream)))
			for _, v := range cases {
				f, err := nextFrame(r)
				if err != nil {
					t.Fatalf("%s: %v", v.name, err)
				}
				got, err := v.dec(f)
				if err != nil || !reflect.DeepEqual(got, v.want) {
					t.Fatalf("%s: got %+v, %v; want %+v", v.name, got, err, v.want)
				}
			}
			if _, err := nextFrame(r); err != io.EOF {
				t.Fatalf("at end: %v, want io.EOF", err)
			}
			want := Stats{Frames: uint64(len(cases)), Bytes: uint64(len(stream))}
			if st := r.Stats(); st != want {
				t.Fatalf("stats %+v, want %+v", st, want)
			}
		})
	}
}

// nextFrame calls Next, retrying timeouts (as a caller with a deadline would).
func nextFrame(r *Reader) (*Frame, error) {
	for {
		f, err := r.Next()
		if errors.Is(err, errTimeout) {
			continue
		}
		return f, err
	}
}

func TestEventEncoding(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		body string
	}{
		{Event{Seq: 17, Time: 1250000, Kind: EvRelease, Task: 1, Arg: 10}, "EV,17,1250000,RL,1,10"},
		{Event{Seq: 0, Time: 0, Kind: EvRun, Task: NoTask, Arg: 0}, "EV,0,0,GO"},
		{Event{Seq: 1, Time: 5, Kind: EvStart, Task: 2}, "EV,1,5,ST,2"},
		{Event{Seq: 1, Time: 5, Kind: EvStart, Task: 0}, "EV,1,5,ST,0"},
		{Event{Seq: 2, Time: 6, Kind: EvDropped, Task: NoTask, Arg: 12}, "EV,2,6,DR,-1,12"},
		{Event{Seq: 3, Time: 7, Kind: EvSwitch, Task: 1, Arg: -1}, "EV,3,7,CS,1,-1"},
		{Event{Seq: 4, Time: 1 << 53, Kind: EvEnd, Task: 0, Arg: 31250}, "EV,4,9007199254740992,EN,0,31250"},
	} {
		if got, want := string(AppendEvent(nil, c.ev)), mk(c.body); got != want {
			t.Errorf("AppendEvent(%+v) = %q, want %q", c.ev, got, want)
		}
	}
}

func TestEventDecodeOptional(t *testing.T) {
	for _, c := range []struct {
		body string
		want Event
	}{
		{"EV,1,2,WX", Event{Seq: 1, Time: 2, Kind: EvWatchdogExpiry, Task: NoTask}},
		{"EV,1,2,WK,4", Event{Seq: 1, Time: 2, Kind: EvWatchdogKick, Task: 4}},
		{"EV,1,2,FE,-1,3", Event{Seq: 1, Time: 2, Kind: EvFaultEnd, Task: NoTask, Arg: 3}},
		{"EV,001,02,BL,-0,0", Event{Seq: 1, Time: 2, Kind: EvBlock, Task: 0, Arg: 0}}, // leading zeros, -0
		{"BX,9,2,UL,1,0", Event{Seq: 9, Time: 2, Kind: EvUnlock, Task: 1}},
	} {
		var f Frame
		if err := ParseFrame([]byte(mk(c.body)), &f); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		got, err := f.Event()
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.body, got, err, c.want)
		}
	}
}

func TestParseFrameErrors(t *testing.T) {
	good := strings.TrimSuffix(mk("AK,1"), "\n")
	long := "EV,1,2,RL,1," + strings.Repeat("9", MaxFrame)
	for _, c := range []struct {
		line string
		want error
	}{
		{good, nil},
		{good + "\n", nil},
		{good + "\r\n", nil},
		{"", ErrMalformed},
		{"AK,1*1234", ErrMalformed}, // no '$'
		{"$AK,1", ErrBadCRC},        // no CRC
		{"$AK,1*12", ErrBadCRC},     // short CRC
		{good[:len(good)-4] + strings.ToLower(good[len(good)-4:]), ErrBadCRC}, // lowercase hex (if it has letters)
		{"$AK,2" + good[5:], ErrBadCRC},                                       // body changed
		{"$AK,1*GGGG", ErrBadCRC},
		{strings.TrimSuffix(mk(long), "\n"), ErrTooLong},
		{strings.TrimSuffix(mk(""), "\n"), ErrMalformed},       // no type
		{strings.TrimSuffix(mk("A"), "\n"), ErrMalformed},      // short type
		{strings.TrimSuffix(mk("XX,1"), "\n"), ErrMalformed},   // unknown type
		{strings.TrimSuffix(mk("ak,1"), "\n"), ErrMalformed},   // lowercase type
		{strings.TrimSuffix(mk("AKX,1"), "\n"), ErrMalformed},  // no comma after type
		{strings.TrimSuffix(mk("AK"), "\n"), ErrMalformed},     // too few fields
		{strings.TrimSuffix(mk("AK,1,2"), "\n"), ErrMalformed}, // too many for AK
		{strings.TrimSuffix(mk("AK,"), "\n"), ErrMalformed},    // empty field
		{strings.TrimSuffix(mk("NK,1,,x"), "\n"), ErrMalformed},
		{strings.TrimSuffix(mk("NK,1,a b"), "\n"), ErrMalformed},  // space
		{strings.TrimSuffix(mk("NK,1,a*b"), "\n"), ErrMalformed},  // '*' in a field
		{strings.TrimSuffix(mk("NK,1,a$b"), "\n"), ErrMalformed},  // '$' in a field
		{strings.TrimSuffix(mk("NK,1,\xff"), "\n"), ErrMalformed}, // not ASCII
		{strings.TrimSuffix(mk("EV,1,2"), "\n"), ErrMalformed},
		{strings.TrimSuffix(mk("EV,1,2,RL,1,2,3"), "\n"), ErrMalformed},
		{strings.TrimSuffix(mk("SF,1,2,3,LH,1,2,3,4,5,6,7,8"), "\n"), nil}, // MaxFields
		{strings.TrimSuffix(mk("SF,1,2,3,LH,1,2,3,4,5,6,7,8,9"), "\n"), ErrMalformed},
	} {
		var f Frame
		if err := ParseFrame([]byte(c.line), &f); err != c.want {
			t.Errorf("ParseFrame(%q) = %v, want %v", c.line, err, c.want)
		}
	}
}

func TestMaxFrameBoundary(t *testing.T) {
	// A frame of exactly MaxFrame bytes with "\n" is accepted; with "\r\n"
	// (one more byte) the Reader skips it as too long.
	pad := func(total int) string {
		for n := 1; ; n++ {
			s := mk("NK,1," + strings.Repeat("x", n))
			if len(s) == total {
				return s
			}
			if len(s) > total {
				panic("cannot pad")
			}
		}
	}
	exact := pad(MaxFrame)
	var f Frame
	if err := ParseFrame([]byte(exact), &f); err != nil {
		t.Fatalf("exact MaxFrame: %v", err)
	}
	crlf := strings.TrimSuffix(exact, "\n") + "\r\n"
	over := pad(MaxFrame + 1)
	r := NewReader(strings.NewReader(exact + crlf + over + exact))
	for i := 0; i < 2; i++ {
		if f, err := r.Next(); err != nil || string(f.Line)+"\n" != exact {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Frames != 2 || st.TooLong != 2 || st.GarbageBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAccessorErrors(t *testing.T) {
	for _, c := range []struct {
		body string
		dec  func(*Frame) error
		want error
	}{
		{"AK,1", func(f *Frame) error { _, err := f.Event(); return err }, ErrWrongType},
		{"EV,1,2,RL", func(f *Frame) error { _, err := f.Boot(); return err }, ErrWrongType},
		{"EV,1,2,RL", func(f *Frame) error { _, err := f.Command(); return err }, ErrWrongType},
		{"EV,x,2,RL", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,4294967296,2,RL", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,18446744073709551616,RL", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,-2,RL", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,XX", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,rl", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,RL,2147483648", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,RL,1,9223372036854775808", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,RL,1,--1", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"EV,1,2,RL,1,-", func(f *Frame) error { _, err := f.Event(); return err }, ErrMalformed},
		{"BT,a,b,c,POR,-1,0", func(f *Frame) error { _, err := f.Boot(); return err }, ErrMalformed},
		{"TE,-1,0", func(f *Frame) error { _, _, err := f.TableEnd(); return err }, ErrMalformed},
		{"SF,1,2,3,ZZ,1", func(f *Frame) error { _, err := f.Command(); return err }, ErrFaultKind},
		{"SF,1,2,3,LB,1", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"SF,1,2,3,LB,1,2,3", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"FN,1,3,LH,1,2", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"FN,1,3,LH,1,2,x", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"FN,1,3,IS,1,200", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"SF,1,2,3,IS,1,-200,5", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"GO,1,-5", func(f *Frame) error { _, err := f.Command(); return err }, ErrMalformed},
		{"NK,x,why", func(f *Frame) error { _, _, err := f.Nak(); return err }, ErrMalformed},
	} {
		var f Frame
		if err := ParseFrame([]byte(mk(c.body)), &f); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if err := c.dec(&f); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.body, err, c.want)
		}
	}
	// A bad command still tells the board which id to NK.
	var f Frame
	_ = ParseFrame([]byte(mk("FN,77,3,ZZ")), &f)
	if c, err := f.Command(); err == nil || c.ID != 77 || c.Type != TypeFire {
		t.Errorf("Command() = %+v, %v; want ID 77 and an error", c, err)
	}
}

func TestNameSanitising(t *testing.T) {
	got := string(AppendNak(nil, 1, "bad key,x*$\n"))
	if want := mk("NK,1,bad_key_x___"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = string(AppendNak(nil, 1, ""))
	if want := mk("NK,1,_"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTypeAndKindTables(t *testing.T) {
	for ty := TypeBoot; ty < numTypes; ty++ {
		if TypeOf([]byte(ty.String())) != ty {
			t.Errorf("TypeOf(%v) = %v", ty, TypeOf([]byte(ty.String())))
		}
		if lo, hi := Arity(ty); lo < 1 || hi < lo || hi > MaxFields {
			t.Errorf("Arity(%v) = %d, %d", ty, lo, hi)
		}
	}
	for k := EvRelease; k < numEventKinds; k++ {
		if KindOf([]byte(k.String())) != k {
			t.Errorf("KindOf(%v) = %v", k, KindOf([]byte(k.String())))
		}
	}
	for _, s := range []string{"", "E", "EVX", "ev", "??", "[\\", "ZZ"} {
		if TypeOf([]byte(s)) != TypeInvalid || KindOf([]byte(s)) != EvInvalid {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	ev := Event{Seq: 123456, Time: 98765432101, Kind: EvEnd, Task: 3, Arg: 31250}
	buf := make([]byte, 0, 4*MaxFrame)
	if n := testing.AllocsPerRun(1000, func() { buf = AppendEvent(buf[:0], ev) }); n != 0 {
		t.Errorf("AppendEvent: %v allocs", n)
	}
	s := Summary{Seq: 1, Time: 2, Task: 3, Jobs: 4, MaxResp: 5, Misses: 6}
	if n := testing.AllocsPerRun(1000, func() { buf = AppendSummary(buf[:0], s) }); n != 0 {
		t.Errorf("AppendSummary: %v allocs", n)
	}
	c := Command{Type: TypeSchedule, ID: 9, At: 1e6, Fault: FaultCmd{ID: 1, Kind: FaultLockHold, Task: 1, Lock: 0, Extra: 500}}
	if n := testing.AllocsPerRun(1000, func() { buf = AppendCommand(buf[:0], c) }); n != 0 {
		t.Errorf("AppendCommand: %v allocs", n)
	}
	var f Frame
	line := AppendEvent(nil, ev)
	if n := testing.AllocsPerRun(1000, func() {
		if ParseFrame(line, &f) != nil {
			panic("parse")
		}
		if got, err := f.Event(); err != nil || got != ev {
			panic("event")
		}
	}); n != 0 {
		t.Errorf("ParseFrame+Event: %v allocs", n)
	}

	stream := eventStream(1 << 20)
	br := bytes.NewReader(stream)
	r := NewReader(br)
	for range 1000 { // warm up
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(20000, func() {
		f, err := r.Next()
		if err == io.EOF {
			br.Reset(stream)
			f, err = r.Next()
		}
		if err != nil {
			panic(err)
		}
		if _, err := f.Event(); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("Reader.Next+Event: %v allocs per frame", n)
	}
}

// eventStream returns about n bytes of EV frames as a board would send them.
func eventStream(n int) []byte {
	b := make([]byte, 0, n+MaxFrame)
	kinds := []EventKind{EvRelease, EvStart, EvLock, EvUnlock, EvEnd, EvSwitch, EvWatchdogKick}
	var tm uint64 = 1_000_000
	for seq := uint32(0); len(b) < n; seq++ {
		k := kinds[int(seq)%len(kinds)]
		tm += uint64(seq%997) + 13
		ev := Event{Seq: seq, Time: tm, Kind: k, Task: int32(seq % 7), Arg: int64(seq % 5 * 1000)}
		b = AppendEvent(b, ev)
	}
	return b
}

func TestPutUintMatchesStrconv(t *testing.T) {
	vals := []uint64{0, 1, 9, math.MaxUint64, math.MaxUint64 - 1, 1 << 53}
	for _, p := range pow10 {
		vals = append(vals, p-1, p, p+1)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		vals = append(vals, rng.Uint64()>>rng.IntN(64))
	}
	b := make([]byte, 24)
	for _, v := range vals {
		if got, want := string(b[:putUint(b, 0, v)]), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("putUint(%d) = %q", v, got)
		}
		iv := int64(v)
		if got, want := string(b[:putInt(b, 0, iv)]), strconv.FormatInt(iv, 10); got != want {
			t.Fatalf("putInt(%d) = %q", iv, got)
		}
	}
}
