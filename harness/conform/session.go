package conform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// InfraError is a board that cannot be reached: the target did not open,
// the link went away, or nothing at all came from it. Not a rule failure.
type InfraError struct {
	Target string
	Err    error
}

func (e *InfraError) Error() string { return fmt.Sprintf("%s: %v", e.Target, e.Err) }
func (e *InfraError) Unwrap() []error {
	return []error{targets.ErrUnreachable, e.Err}
}

// rec is one frame received, copied out of the reader's buffer and decoded
// as far as its type allows.
type rec struct {
	typ   wire.Type
	line  string
	ev    wire.Event // EV, BX
	sm    wire.Summary
	boot  wire.Boot
	proto int
	task  wire.TaskInfo
	lock  wire.LockInfo
	te    [2]int // TE counts
	id    uint32 // AK, NK
	why   string // NK reason
	seq   uint32 // DN
	time  uint64 // EV, SM, DN: board µs since boot
	bad   bool   // did not decode
	fresh bool   // BT of a new boot (not an ID repeat)
}

// smallReads caps each read, so that a simulated board (which runs until
// it has filled much of the buffer it is given) is read frame by frame and
// a command written during a run reaches it at the board time the script
// meant, not a second later. A real link delivers what it has either way.
type smallReads struct{ targets.Target }

func (r smallReads) Read(p []byte) (int, error) { return r.Target.Read(p[:min(len(p), 128)]) }

// session is the host side of one conformance run.
type session struct {
	ctx   context.Context
	t     targets.Target
	clk   targets.Clock
	r     *wire.Reader
	opt   Options
	v     *verdicts
	id    uint32
	log   []*rec
	stats wire.Stats

	// what the board said last
	boot     *rec // last BT
	proto    int
	tasks    []wire.TaskInfo
	loadTask int // index of the `load` task, -1 if none
	seqKnown bool
	seqNext  uint32
	lastTime uint64
	lastDN   *rec // the DN of the main run
}

// errTimeout is a wait that ran out of board time.
var errTimeout = errors.New("timeout")

// next reads one frame, failing with errTimeout once the board's clock
// passes deadline. A link failure is an *InfraError.
func (s *session) next(deadline time.Time) (*rec, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.t.SetReadDeadline(deadline); err != nil {
		return nil, &InfraError{Target: s.t.Name(), Err: fmt.Errorf("set read deadline: %w", err)}
	}
	f, err := s.r.Next()
	s.stats = s.r.Stats()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errTimeout
		}
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		return nil, &InfraError{Target: s.t.Name(), Err: fmt.Errorf("read: %w", err)}
	}
	if f.Type == wire.TypeConsole {
		return s.next(deadline) // console text: no rule about it
	}
	r := s.observe(f)
	s.log = append(s.log, r)
	return r, nil
}

// collect reads frames until stop returns true (the frame that made it is
// the last one returned) or d of board time has passed. A timeout is not
// an error: the caller looks at what came.
func (s *session) collect(d time.Duration, stop func(*rec) bool) ([]*rec, bool, error) {
	deadline := s.clk.Now().Add(d)
	var got []*rec
	for {
		r, err := s.next(deadline)
		if errors.Is(err, errTimeout) {
			return got, false, nil
		}
		if err != nil {
			return got, false, err
		}
		got = append(got, r)
		if stop != nil && stop(r) {
			return got, true, nil
		}
	}
}

// observe decodes f and applies the rules that hold for every frame:
// fields, sequence numbers and times.
func (s *session) observe(f *wire.Frame) *rec {
	r := &rec{typ: f.Type, line: string(f.Line)}
	var err error
	switch f.Type {
	case wire.TypeBoot:
		r.boot, err = f.Boot()
		r.proto = int(r.boot.Proto)
		if err == nil {
			r.fresh = s.boot == nil || s.boot.boot.BootCount != r.boot.BootCount
			if r.fresh {
				s.seqKnown, s.seqNext, s.lastTime = true, 0, 0
			}
			s.boot, s.proto = r, r.proto
		}
	case wire.TypeTask:
		r.task, err = f.Task()
	case wire.TypeLock:
		r.lock, err = f.Lock()
	case wire.TypeTableEnd:
		r.te[0], r.te[1], err = f.TableEnd()
	case wire.TypeEvent:
		r.ev, err = f.Event()
		if err == nil {
			r.time = r.ev.Time
			s.numbered(r, r.ev.Seq)
		}
	case wire.TypeSummary:
		r.sm, err = f.Summary()
		if err == nil {
			r.time = r.sm.Time
			s.numbered(r, r.sm.Seq)
		}
	case wire.TypeDone:
		r.seq, r.time, err = f.Done()
		if err == nil {
			if s.seqKnown {
				s.v.check("sequence", r.seq == s.seqNext, "DN carries seq %d, the next number is %d", r.seq, s.seqNext)
			}
			s.timed(r)
		}
	case wire.TypeBlackBox:
		r.ev, err = f.Event()
	case wire.TypeAck:
		r.id, err = f.Ack()
	case wire.TypeNak:
		r.id, r.why, err = f.Nak()
	default:
		err = fmt.Errorf("a host-to-board frame type from the board")
	}
	if err != nil {
		r.bad = true
		s.v.fail("fields", "%s: %v", r.line, err)
	} else {
		s.v.ok("fields")
	}
	return r
}

// numbered checks an EV or SM frame's sequence number and time.
func (s *session) numbered(r *rec, seq uint32) {
	if s.seqKnown {
		s.v.check("sequence", seq == s.seqNext, "%s: seq %d, expected %d", r.line, seq, s.seqNext)
	}
	s.seqKnown, s.seqNext = true, seq+1
	s.timed(r)
}

func (s *session) timed(r *rec) {
	s.v.check("event-times", r.time >= s.lastTime, "%s: time %d µs is before the previous frame's %d µs", r.line, r.time, s.lastTime)
	s.lastTime = max(s.lastTime, r.time)
}

// newID returns a command id not used before in this session.
func (s *session) newID() uint32 {
	s.id++
	return s.id
}

// write sends frame bytes to the board.
func (s *session) write(b []byte) error {
	if _, err := s.t.Write(b); err != nil {
		return &InfraError{Target: s.t.Name(), Err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

// encode returns the frame of c.
func encode(c wire.Command) []byte { return wire.AppendCommand(nil, c) }

// typeIdentify is the ID command (PROTOCOL.md 2.3).
const typeIdentify = wire.TypeIdentify

// answer is what a command got back.
type answer struct {
	ok     bool // AK (else NK, or nothing)
	got    bool // an answer came
	reason string
	frames []*rec // everything received up to and including the answer
}

// retryEvery is how often an unanswered command is sent again, with the
// same id (2.2): an eighth of the command timeout, at least 50 ms. Sooner
// than the harness does, so that a command lost during the short main run
// still reaches the board while the run lasts.
func (s *session) retryEvery() time.Duration { return max(s.opt.Timeout/8, 50*time.Millisecond) }

// command sends *c with a fresh id and waits for its answer, sending it
// again with the same id while none comes, up to the command timeout. A
// command never answered fails the "answers" rule.
func (s *session) command(c *wire.Command) (answer, error) {
	c.ID = s.newID()
	return s.send(*c, nil)
}

// send is command with c's id as given; extra, when not nil, also ends
// the wait (RS: a new boot's BT stands for the answer).
func (s *session) send(c wire.Command, extra func(*rec) bool) (answer, error) {
	b := encode(c)
	var a answer
	end := s.clk.Now().Add(s.opt.Timeout)
	for {
		if err := s.write(b); err != nil {
			return a, err
		}
		wait := min(s.retryEvery(), end.Sub(s.clk.Now()))
		got, done, err := s.collect(wait, func(r *rec) bool {
			return (r.typ == wire.TypeAck || r.typ == wire.TypeNak) && r.id == c.ID || extra != nil && extra(r)
		})
		a.frames = append(a.frames, got...)
		if err != nil {
			return a, err
		}
		if done {
			last := got[len(got)-1]
			a.got = last.typ == wire.TypeAck || last.typ == wire.TypeNak
			a.ok, a.reason = last.typ == wire.TypeAck, last.why
			if a.got {
				s.v.ok("answers")
			}
			return a, nil
		}
		if !s.clk.Now().Before(end) {
			s.v.fail("answers", "%s: no AK or NK within %v", name(c), s.opt.Timeout)
			return a, nil
		}
	}
}

// name is how a command is quoted in a message.
func name(c wire.Command) string {
	b := encode(c)
	return string(b[:len(b)-1])
}
