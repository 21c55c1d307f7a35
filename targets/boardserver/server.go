// Package boardserver runs the reference firmware model in real time: the
// board's virtual clock is paced to the wall clock and its UART is a real
// byte stream (a pseudo-terminal, or TCP connections). It is what
// `hilchaos firmware serve` runs, so the whole serial stack can be tested
// with no hardware.
//
// The model itself (package firmware) never reads the wall clock; all the
// pacing lives here. One goroutine moves the board to "now" whenever it has
// something due and writes what its UART sent; another feeds the host's
// bytes to it. The board is not goroutine-safe, so both hold one mutex.
package boardserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// DefaultBaud is the modelled UART speed unless Config says otherwise:
// fast enough for the full trace level of the Pathfinder profile.
const DefaultBaud = 921600

// Tick is the shortest time the pacing loop sleeps: output leaves in
// batches at most this far apart, as through a USB serial adapter.
const Tick = time.Millisecond

// outMax bounds the bytes queued for the line. When nobody reads (no
// client on the PTY, no TCP connection) they are dropped past this, as on
// a UART nobody listens to.
const outMax = 1 << 20

// Config is how a served board is built.
type Config struct {
	Profile *firmware.Profile
	Board   firmware.Config
	// FreezeAfter, when positive, makes the board hang once, this long
	// (wall clock) after the first GO command: from then on it sends
	// nothing and its clock stands still, until a software reset command
	// (RS) arrives, which reboots it; the reset line of a real rig. It is
	// how tests show a silent hang.
	FreezeAfter time.Duration
}

// Server is one board paced to the wall clock.
type Server struct {
	cfg Config

	mu       sync.Mutex
	board    *firmware.Board
	start    time.Time // wall time of virtual time 0
	wake     chan struct{}
	sink     io.Writer // current output, nil when nobody is attached
	freezeAt time.Time // zero: not armed
	frozen   bool
	frozeAt  time.Time
	froze    bool // it froze once already
	line     []byte
	frame    wire.Frame

	out outQueue
}

// New powers a board on. It starts running (and booting) when Run is called.
func New(cfg Config) (*Server, error) {
	if cfg.Board.Baud == 0 {
		cfg.Board.Baud = DefaultBaud
	}
	b, err := firmware.NewBoard(cfg.Profile, cfg.Board)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, board: b, wake: make(chan struct{}, 1)}
	s.out.init()
	return s, nil
}

// now is the board's virtual time for the current wall time: 0 until Run
// has started the clock (a client can attach and talk before that).
func (s *Server) now() int64 {
	if s.start.IsZero() {
		return 0
	}
	return int64(time.Since(s.start))
}

// Run paces the board until ctx ends. Attach gives it a line to talk on.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
	go s.out.run(ctx, s.currentSink)

	buf := make([]byte, 64<<10)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var next int64
		ok := false
		if s.frozen {
			// hung: nothing moves until RS
		} else if !s.freezeAt.IsZero() && !time.Now().Before(s.freezeAt) {
			s.frozen, s.frozeAt, s.freezeAt = true, time.Now(), time.Time{}
		} else {
			now := s.now()
			s.board.AdvanceTo(now)
			for {
				n := s.board.Read(buf)
				if n == 0 {
					break
				}
				s.out.push(buf[:n])
			}
			next, ok = s.board.NextEvent()
			next -= now
			if !s.freezeAt.IsZero() {
				if d := int64(time.Until(s.freezeAt)); !ok || d < next {
					next, ok = d, true
				}
			}
		}
		s.mu.Unlock()

		wait := time.Hour
		if ok {
			wait = max(time.Duration(next), Tick)
		}
		// Since Go 1.23 Reset drops a fire nobody received: no Stop and
		// drain dance after a wake.
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// Attach makes rw the board's line until reading it fails or ctx ends: the
// board's output is written to it and what it reads goes to the board.
// Attaching another line replaces this one as the output.
func (s *Server) Attach(ctx context.Context, rw io.ReadWriter) error {
	s.mu.Lock()
	s.sink = rw
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.sink == rw {
			s.sink = nil
		}
		s.mu.Unlock()
	}()
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		n, err := rw.Read(buf)
		if n > 0 {
			s.receive(buf[:n])
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *Server) currentSink() io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sink
}

// receive hands host bytes to the board at the current wall time.
func (s *Server) receive(p []byte) {
	s.mu.Lock()
	if s.cfg.FreezeAfter > 0 {
		p = s.watch(p)
	}
	if len(p) > 0 {
		s.board.AdvanceTo(s.now())
		s.board.Receive(p)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// watch looks at host lines for the freeze test mode: the first GO arms
// the freeze; while frozen only an RS line gets through (and thaws the
// board, its clock resuming where it stopped). It returns what the board
// is to receive.
func (s *Server) watch(p []byte) []byte {
	pass := p
	if s.frozen {
		pass = nil
	}
	for _, c := range p {
		switch {
		case c == '$':
			s.line = append(s.line[:0], c)
		case c == '\n' && len(s.line) > 0:
			line := bytes.TrimSuffix(s.line, []byte{'\r'})
			if wire.ParseFrame(line, &s.frame) == nil {
				switch {
				case s.frame.Type == wire.TypeStart && !s.froze && s.freezeAt.IsZero():
					s.freezeAt = time.Now().Add(s.cfg.FreezeAfter)
					s.froze = true
				case s.frame.Type == wire.TypeReset && s.frozen:
					s.frozen = false
					s.start = s.start.Add(time.Since(s.frozeAt))
					pass = append(append([]byte(nil), line...), '\n')
				}
			}
			s.line = s.line[:0]
		case len(s.line) > 0 && len(s.line) < wire.MaxFrame:
			s.line = append(s.line, c)
		}
	}
	return pass
}

// Inject puts raw bytes on the line between two frames, as line noise
// would (for tests of the host's resynchronisation).
func (s *Server) Inject(p []byte) {
	s.mu.Lock()
	s.out.push(p)
	s.mu.Unlock()
}

// Dropped is how many output bytes were thrown away because nobody took
// them.
func (s *Server) Dropped() uint64 { return s.out.droppedBytes() }

// outQueue hands the board's output to a writer goroutine, so a line
// nobody reads never stalls the board.
type outQueue struct {
	mu      sync.Mutex
	buf     []byte
	spare   []byte
	dropped uint64
	ready   chan struct{}
}

func (q *outQueue) init() { q.ready = make(chan struct{}, 1) }

func (q *outQueue) push(p []byte) {
	q.mu.Lock()
	if len(q.buf)+len(p) > outMax {
		q.dropped += uint64(len(p))
	} else {
		q.buf = append(q.buf, p...)
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *outQueue) droppedBytes() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// run writes queued bytes to the current sink until ctx ends; with no sink
// they are dropped.
func (q *outQueue) run(ctx context.Context, sink func() io.Writer) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.ready:
		}
		q.mu.Lock()
		q.buf, q.spare = q.spare[:0], q.buf
		chunk := q.spare
		q.mu.Unlock()
		if len(chunk) == 0 {
			continue
		}
		w := sink()
		if w == nil {
			q.mu.Lock()
			q.dropped += uint64(len(chunk))
			q.mu.Unlock()
			continue
		}
		if _, err := w.Write(chunk); err != nil {
			q.mu.Lock()
			q.dropped += uint64(len(chunk))
			q.mu.Unlock()
		}
	}
}
