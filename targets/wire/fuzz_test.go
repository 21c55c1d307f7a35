package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"testing"
)

// model is a byte-at-a-time statement of the Reader's framing rules, kept
// deliberately naive: the Reader must agree with it on every input.
func model(in []byte) (lines []string, st Stats) {
	const (
		outside = iota
		frame
		skip
	)
	state := outside
	var cur, line []byte
	for _, c := range in {
		st.Bytes++
		switch state {
		case outside:
			switch c {
			case '$':
				st.GarbageBytes += uint64(len(line))
				line = line[:0]
				cur, state = append(cur[:0], c), frame
			case '\n':
				modelConsole(line, &st)
				line = line[:0]
			default:
				line = append(line, c)
			}
		case frame:
			switch c {
			case '$':
				st.Truncated++
				cur = append(cur[:0], c)
			case '\n':
				state = outside
				var f Frame
				switch ParseFrame(cur, &f) {
				case nil:
					st.Frames++
					lines = append(lines, string(f.Line))
				case ErrBadCRC:
					st.BadCRC++
				default:
					st.Malformed++
				}
			default:
				cur = append(cur, c)
				if len(cur) >= MaxFrame { // no room left for the line end
					st.TooLong++
					state = skip
				}
			}
		case skip:
			if c == '$' {
				cur, state = append(cur[:0], c), frame
			} else if c == '\n' {
				state = outside
			}
		}
	}
	if state == frame {
		st.Truncated++
	}
	st.GarbageBytes += uint64(len(line))
	return lines, st
}

// modelConsole classifies a whole line outside frames (PROTOCOL.md 1.4).
func modelConsole(line []byte, st *Stats) {
	bad := false
	for _, c := range line {
		if !(c >= 0x20 && c <= 0x7E || c == '\t' || c == '\r') {
			bad = true
		}
	}
	content := bytes.TrimSuffix(line, []byte("\r"))
	if !bad && len(content) == 0 {
		return
	}
	text := content[:min(len(content), MaxConsole)]
	if bad || headless(text) {
		st.GarbageBytes += uint64(len(line) + 1)
		return
	}
	if len(line) > MaxConsole {
		st.GarbageBytes += uint64(len(line) - MaxConsole)
	}
	st.ConsoleLines++
}

func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, v := range roundTripCases() {
		seeds = append(seeds, v.enc(nil))
	}
	a := mk("EV,1,10,RL,0,1")
	seeds = append(seeds,
		[]byte("garbage"+a+"$EV,1*0000\n"+a),
		[]byte(a[:12]+a),
		[]byte("$"+string(bytes.Repeat([]byte("9"), 300))+"\n"+a),
		[]byte(mk("SF,1,2,3,LH,1,2,3,4,5,6,7,8")),
		[]byte(mk("EV,00,-0,RL,-0,-00")),
		[]byte(mk("XX,1")+"\r\n"),
	)
	return seeds
}

// recode decodes f with its accessor, encodes the value again and checks
// that the new frame parses and decodes to the same value.
func recode(t *testing.T, f *Frame) {
	t.Helper()
	var (
		v   any
		err error
		enc []byte
	)
	switch f.Type {
	case TypeEvent, TypeBlackBox:
		var ev Event
		ev, err = f.Event()
		v = ev
		if f.Type == TypeEvent {
			enc = AppendEvent(nil, ev)
		} else {
			enc = AppendBlackBox(nil, ev)
		}
	case TypeBoot:
		var b Boot
		b, err = f.Boot()
		v, enc = b, AppendBoot(nil, b)
	case TypeTask:
		var x TaskInfo
		x, err = f.Task()
		v, enc = x, AppendTask(nil, x)
	case TypeLock:
		var x LockInfo
		x, err = f.Lock()
		v, enc = x, AppendLock(nil, x)
	case TypeTableEnd:
		var nt, nl int
		nt, nl, err = f.TableEnd()
		v, enc = tableEnd{nt, nl}, AppendTableEnd(nil, nt, nl)
	case TypeSummary:
		var s Summary
		s, err = f.Summary()
		v, enc = s, AppendSummary(nil, s)
	case TypeAck:
		var id uint32
		id, err = f.Ack()
		v, enc = id, AppendAck(nil, id)
	case TypeNak:
		var id uint32
		var r string
		id, r, err = f.Nak()
		v, enc = nak{id, r}, AppendNak(nil, id, r)
	case TypeDone:
		var s uint32
		var tm uint64
		s, tm, err = f.Done()
		v, enc = done{s, tm}, AppendDone(nil, s, tm)
	case TypeCrash:
		var c Crash
		c, err = f.Crash()
		v, enc = c, AppendCrash(nil, c)
	default:
		var c Command
		c, err = f.Command()
		v, enc = c, AppendCommand(nil, c)
	}
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFaultKind) {
			t.Fatalf("%q: unexpected error class %v", f.Line, err)
		}
		return
	}
	var g Frame
	if err := ParseFrame(enc, &g); err != nil {
		t.Fatalf("%q re-encoded to %q which does not parse: %v", f.Line, enc, err)
	}
	if g.Type != f.Type {
		t.Fatalf("%q re-encoded as %v", f.Line, g.Type)
	}
	var again []byte
	switch f.Type {
	case TypeEvent, TypeBlackBox:
		ev, err := g.Event()
		if err != nil || ev != v {
			t.Fatalf("%q -> %q -> %+v, %v; want %+v", f.Line, enc, ev, err, v)
		}
		again = appendEvent(nil, f.Type, ev)
	default:
		// Re-encoding the re-parsed line must reproduce it byte for byte.
		again = enc
		recodeSame(t, &g, enc)
	}
	if !bytes.Equal(again, enc) {
		t.Fatalf("encoding not stable: %q then %q", enc, again)
	}
}

// recodeSame checks that g (parsed from enc, which an encoder produced)
// re-encodes to exactly enc: encoder output is canonical.
func recodeSame(t *testing.T, g *Frame, enc []byte) {
	t.Helper()
	var out []byte
	switch g.Type {
	case TypeBoot:
		b, _ := g.Boot()
		out = AppendBoot(nil, b)
	case TypeTask:
		x, _ := g.Task()
		out = AppendTask(nil, x)
	case TypeLock:
		x, _ := g.Lock()
		out = AppendLock(nil, x)
	case TypeTableEnd:
		nt, nl, _ := g.TableEnd()
		out = AppendTableEnd(nil, nt, nl)
	case TypeSummary:
		s, _ := g.Summary()
		out = AppendSummary(nil, s)
	case TypeAck:
		id, _ := g.Ack()
		out = AppendAck(nil, id)
	case TypeNak:
		id, r, _ := g.Nak()
		out = AppendNak(nil, id, r)
	case TypeDone:
		s, tm, _ := g.Done()
		out = AppendDone(nil, s, tm)
	case TypeCrash:
		c, _ := g.Crash()
		out = AppendCrash(nil, c)
	default:
		c, _ := g.Command()
		out = AppendCommand(nil, c)
	}
	if !bytes.Equal(out, enc) {
		t.Fatalf("canonical frame %q re-encoded as %q", enc, out)
	}
}

func FuzzReader(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		wantLines, wantStats := model(in)
		var rd io.Reader = &chunked{data: in, size: int(mode&31) + 1, dataErr: mode&32 != 0, empty: mode&64 != 0}
		if mode&128 != 0 {
			rd = &timeoutEveryOther{r: rd}
		}
		r := NewReader(rd)
		var lines []string
		for i := 0; ; i++ {
			if i > 4*len(in)+10 {
				t.Fatal("Next does not reach EOF")
			}
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, errTimeout) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, string(fr.Line))
			var g Frame
			if err := ParseFrame(fr.Line, &g); err != nil || g.NField != fr.NField || g.Type != fr.Type {
				t.Fatalf("returned frame %q does not re-parse: %v", fr.Line, err)
			}
			recode(t, fr)
		}
		if !reflect.DeepEqual(lines, wantLines) {
			t.Fatalf("frames %q, model says %q", lines, wantLines)
		}
		st := r.Stats()
		if st != wantStats {
			t.Fatalf("stats %+v, model says %+v", st, wantStats)
		}
		// With console lines reported, the same frames come, and one
		// console frame per counted line, whose text has no '$', no line
		// end and only console bytes.
		rc := NewReader(bytes.NewReader(in))
		rc.ReportConsole(true)
		var frames []string
		consoles := 0
		for {
			fr, err := rc.Next()
			if err != nil {
				break
			}
			if fr.Type != TypeConsole {
				frames = append(frames, string(fr.Line))
				continue
			}
			consoles++
			if len(fr.Line) == 0 || len(fr.Line) > MaxConsole {
				t.Fatalf("console line of %d bytes", len(fr.Line))
			}
			for _, c := range fr.Line {
				if c == '$' || c == '\n' || !(c >= 0x20 && c <= 0x7E || c == '\t' || c == '\r') {
					t.Fatalf("console line %q holds %q", fr.Line, c)
				}
			}
		}
		if !reflect.DeepEqual(frames, wantLines) || uint64(consoles) != wantStats.ConsoleLines {
			t.Fatalf("reporting console: frames %q, %d console lines; model says %q, %d", frames, consoles, wantLines, wantStats.ConsoleLines)
		}
		// Every frame, good or bad, started with a '$' and every garbage
		// byte was read.
		dollars := uint64(bytes.Count(in, []byte("$")))
		if st.Frames+st.BadCRC+st.Malformed+st.Truncated+st.TooLong > dollars || st.GarbageBytes > st.Bytes || st.Bytes != uint64(len(in)) {
			t.Fatalf("stats do not add up: %+v for %d bytes with %d '$'", st, len(in), dollars)
		}
	})
}

func FuzzParseFrame(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var fr Frame
		if err := ParseFrame(line, &fr); err != nil {
			if err != ErrBadCRC && err != ErrMalformed && err != ErrTooLong {
				t.Fatalf("error %v", err)
			}
			return
		}
		if lo, hi := Arity(fr.Type); fr.NField < lo || fr.NField > hi {
			t.Fatalf("%q: %d fields for %v", line, fr.NField, fr.Type)
		}
		if len(fr.Line)+1 > MaxFrame || fr.Line[0] != '$' || !bytes.HasPrefix(line, fr.Line) {
			t.Fatalf("bad Line %q from %q", fr.Line, line)
		}
		for i := 0; i < MaxFields; i++ {
			fld := fr.Fields[i]
			if (i < fr.NField) != (len(fld) > 0) {
				t.Fatalf("%q: field %d = %q with NField %d", line, i, fld, fr.NField)
			}
			for _, c := range fld {
				if class[c] != clField {
					t.Fatalf("%q: byte %q in field %d", line, c, i)
				}
			}
		}
		recode(t, &fr)
	})
}

func FuzzEventRoundTrip(f *testing.F) {
	f.Add(uint32(17), uint64(1250000), uint8(EvRelease), int32(1), int64(10), false)
	f.Add(uint32(0), uint64(0), uint8(EvRun), int32(-1), int64(0), true)
	f.Add(uint32(1<<32-1), uint64(1<<64-1), uint8(EvDropped), int32(-1<<31), int64(-1<<63), false)
	f.Fuzz(func(t *testing.T, seq uint32, tm uint64, kind uint8, task int32, arg int64, bx bool) {
		ev := Event{Seq: seq, Time: tm, Kind: EventKind(kind%uint8(numEventKinds-1)) + 1, Task: task, Arg: arg}
		buf := make([]byte, 0, MaxFrame)
		var line []byte
		if bx {
			line = AppendBlackBox(buf, ev)
		} else {
			line = AppendEvent(buf, ev)
		}
		if len(line) > MaxFrame {
			t.Fatalf("%q longer than MaxFrame", line)
		}
		var fr Frame
		if err := ParseFrame(line, &fr); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if (fr.Type == TypeBlackBox) != bx {
			t.Fatalf("%q: type %v", line, fr.Type)
		}
		got, err := fr.Event()
		if err != nil || got != ev {
			t.Fatalf("%q decoded to %+v, %v; want %+v", line, got, err, ev)
		}
		// The hand-rolled encoder agrees with plain fmt formatting.
		body := fmt.Sprintf("%s,%d,%d,%s", fr.Type, ev.Seq, ev.Time, ev.Kind)
		if ev.Task != NoTask || ev.Arg != 0 {
			body += fmt.Sprintf(",%d", ev.Task)
			if ev.Arg != 0 {
				body += fmt.Sprintf(",%d", ev.Arg)
			}
		}
		if want := mk(body); string(line) != want {
			t.Fatalf("encoded %q, want %q", line, want)
		}
		r := NewReader(bytes.NewReader(line))
		if f2, err := r.Next(); err != nil || !bytes.Equal(f2.Line, line[:len(line)-1]) {
			t.Fatalf("Reader on %q: %v", line, err)
		}
	})
}

// FuzzEventLine checks the EV fast path against the general one: for any
// line, parseFrame (which tries parseEventLine first) and parseGeneral
// give the same error, the same frame, and Event decodes the same.
func FuzzEventLine(f *testing.F) {
	for _, ev := range []Event{
		{Seq: 76, Time: 686690, Kind: EvEnd, Task: 1, Arg: 4363},
		{Seq: 82, Time: 806093, Kind: EvWatchdogKick, Task: 0},
		{Seq: 1, Time: 0, Kind: EvRun, Task: NoTask, Arg: 300000000},
		{Seq: math.MaxUint32, Time: math.MaxUint64, Kind: EvBlock, Task: math.MinInt32, Arg: math.MinInt64},
		{Seq: 3, Time: 4, Kind: EvSwitch, Task: -1, Arg: -7},
	} {
		f.Add(string(AppendEvent(nil, ev)))
	}
	f.Add("$EV,1,2,EN,00000000000000000000003*0000")
	f.Add("$EV,1,2,EN,3,4,5*0000")
	f.Add("$EV,1,2,XX*0000")
	f.Add("$EV,-1,2,EN*0000")
	f.Fuzz(func(t *testing.T, s string) {
		line := []byte(s)
		if n := len(line); n >= 6 && line[n-5] == '*' {
			// Mostly give it a right CRC, so the fields are reached.
			if len(s)%4 != 0 {
				line = appendHex4(line[:n-4:n-4], CRC16(line[1:n-5]))
			}
		}
		if len(line) == 0 || line[0] != '$' || len(line) >= MaxFrame {
			return
		}
		var fast, gen Frame
		// Digits after the line, in the capacity the fast path may look
		// at eight bytes at a time, must not count.
		padded := append(append(make([]byte, 0, len(line)+16), line...), "1234567890123456"...)
		errFast := parseFrame(padded[:len(line)], &fast)
		errGen := parseGeneral(line, &gen)
		if errFast != errGen {
			t.Fatalf("%q: fast path %v, general %v", line, errFast, errGen)
		}
		if errGen != nil {
			return
		}
		if fast.Type != gen.Type || fast.NField != gen.NField || !bytes.Equal(fast.Line, gen.Line) {
			t.Fatalf("%q: fast path %v/%d/%q, general %v/%d/%q", line, fast.Type, fast.NField, fast.Line, gen.Type, gen.NField, gen.Line)
		}
		for i := range fast.Fields {
			if !bytes.Equal(fast.Fields[i], gen.Fields[i]) || (fast.Fields[i] == nil) != (gen.Fields[i] == nil) {
				t.Fatalf("%q: field %d: fast path %q, general %q", line, i, fast.Fields[i], gen.Fields[i])
			}
		}
		if fast.Type == TypeEvent {
			a, errA := fast.Event()
			b, errB := gen.Event()
			if a != b || (errA == nil) != (errB == nil) {
				t.Fatalf("%q: fast path %+v %v, general %+v %v", line, a, errA, b, errB)
			}
		}
	})
}
