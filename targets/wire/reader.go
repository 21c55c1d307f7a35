package wire

import (
	"bytes"
	"io"
	"sync"
)

// Stats counts what a Reader saw on the line.
type Stats struct {
	Frames       uint64 // valid frames returned
	BadCRC       uint64 // frames whose CRC did not match (or was missing)
	TooLong      uint64 // lines longer than MaxFrame
	Malformed    uint64 // frames with a good CRC but an unknown type or bad syntax
	GarbageBytes uint64 // bytes skipped outside any frame
	// Truncated counts frames cut short: a '$' arrived before the line end
	// (the new '$' starts a new frame), or the stream ended mid-frame.
	Truncated uint64
	Bytes     uint64 // bytes read from the underlying reader
	// ConsoleLines counts whole lines of console text (PROTOCOL.md 1.4):
	// not frames, and not garbage.
	ConsoleLines uint64
}

// Rejected is how many frames were seen but not returned: bad CRC, too
// long, malformed or truncated.
func (s *Stats) Rejected() uint64 { return s.BadCRC + s.TooLong + s.Malformed + s.Truncated }

// MaxConsole is the longest console line a Reader returns; the rest of a
// longer line is dropped and counted as garbage.
const MaxConsole = 256

// bufSize is the Reader's buffer. Big reads keep the per-Read overhead of
// a pipe, PTY or socket small; a partial frame (at most MaxFrame bytes) is
// all that is ever carried over between reads.
const bufSize = 64 << 10

// maxEmptyReads is how many (0, nil) reads in a row Next tolerates before
// returning io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

type readState uint8

const (
	stOutside readState = iota // between frames: everything but '$' is garbage
	stFrame                    // buf[r] is the '$' of a frame being assembled
	stSkip                     // inside an over-long line, up to '\n' or '$'
)

// Reader splits a byte stream into frames without allocating per frame.
type Reader struct {
	rd    io.Reader
	buf   []byte
	r, w  int // unprocessed bytes are buf[r:w]
	state readState
	err   error // error returned with data, reported once the data is used up
	stats Stats
	f     Frame

	// The line being read outside any frame: a console line while it
	// holds only printable text.
	lineLen    int  // bytes of it so far, line end excluded
	lineBad    bool // it holds a byte that is not console text
	con        [MaxConsole]byte
	conN       int
	conReports bool // Next returns console lines as TypeConsole frames

	intact bool // rd is Intact: frames' CRCs need no check

	src FrameSource // rd, when it hands over frames decoded
	fq  Frames      // the batch src handed over last
}

// Intact is implemented by a byte source whose every frame reaches the
// Reader exactly as this package's encoders wrote it, in the same
// process, with nothing between that could change, insert or drop a byte
// inside a frame (the simulator: its UART drops whole frames only). A
// Reader on an Intact source skips verifying frames' CRCs, which
// could not fail: the frames it returns are the same.
//
// IntactSource returns the source itself. The Reader trusts its source
// only if that is the very reader it was given: a wrapper that embeds the
// source (a tee, a relay, a rig that splices in line noise) inherits the
// method but is not what it returns, so through it every CRC is checked.
type Intact interface {
	IntactSource() io.Reader
}

func intact(rd io.Reader) bool {
	i, ok := rd.(Intact)
	return ok && i.IntactSource() == rd
}

// ReportConsole makes Next return each console line as a Frame of type
// TypeConsole whose Line is the text (without the line end). Without it
// console lines are only counted.
func (r *Reader) ReportConsole(on bool) { r.conReports = on }

// NewReader returns a Reader that reads from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{rd: r, buf: *bufPool.Get().(*[]byte), intact: intact(r), src: frameSource(r)}
}

// bufPool keeps the buffers of released Readers: a campaign of short runs
// on the simulator opens two Readers per run.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Release gives r's buffer back for another Reader. r must not be used
// after it, nor any Frame it returned.
func (r *Reader) Release() {
	if r.buf != nil {
		b := r.buf[:bufSize:bufSize]
		r.buf = nil
		bufPool.Put(&b)
	}
}

// Reset discards all buffered data, state and counters and makes r read
// from rd, reusing its buffer (for a reconnect, or a benchmark).
func (r *Reader) Reset(rd io.Reader) {
	fq := r.fq
	fq.Reset()
	*r = Reader{rd: rd, buf: r.buf, conReports: r.conReports, intact: intact(rd), src: frameSource(rd), fq: fq}
	if r.buf == nil {
		r.buf = make([]byte, bufSize)
	}
}

// Next returns the next valid frame, skipping (and counting) garbage,
// over-long lines and frames with a bad CRC. Errors from the underlying
// reader (timeouts included) are returned as they are; calling Next again
// continues where it stopped, losing nothing already read. At the end of
// the stream Next returns io.EOF and counts a partial last frame as
// Truncated. The Frame is valid until the next call to Next.
func (r *Reader) Next() (*Frame, error) {
	if r.src != nil {
		return r.nextFromSource()
	}
	for {
		buf := r.buf[:r.w]
		switch r.state {
		case stOutside:
			if r.r < r.w && buf[r.r] == '$' && r.lineLen == 0 {
				r.state = stFrame // frames back to back: the hot path
				continue
			}
			if r.outside(buf) {
				return &r.f, nil
			}
			if r.state != stOutside {
				continue
			}

		case stFrame:
			end := min(r.w, r.r+MaxFrame)
			seg := buf[r.r+1 : end]
			nl := bytes.IndexByte(seg, '\n')
			if nl >= 0 {
				line := buf[r.r : r.r+1+nl]
				if n := len(line); line[n-1] == '\r' {
					line = line[:n-1]
				}
				// The line is parsed before it is searched for a '$':
				// one after the first makes it fail to parse (a '$' is
				// neither a field byte nor a hex digit), so a frame that
				// parses had none, and the search is only for failures.
				err := parseFrameCheck(line, &r.f, !r.intact)
				if err == nil {
					r.r += nl + 2
					r.state = stOutside
					r.stats.Frames++
					return &r.f, nil
				}
				if d := bytes.IndexByte(seg[:nl], '$'); d >= 0 {
					r.stats.Truncated++
					r.r += 1 + d
					continue
				}
				r.r += nl + 2
				r.state = stOutside
				if err == ErrBadCRC {
					r.stats.BadCRC++
				} else {
					r.stats.Malformed++
				}
				continue
			}
			if d := bytes.IndexByte(seg, '$'); d >= 0 {
				r.stats.Truncated++
				r.r += 1 + d
				continue
			}
			if end-r.r >= MaxFrame {
				r.stats.TooLong++
				r.r = end
				r.state = stSkip
				continue
			}

		case stSkip:
			rest := buf[r.r:]
			nl := bytes.IndexByte(rest, '\n')
			head := rest
			if nl >= 0 {
				head = rest[:nl]
			}
			if d := bytes.IndexByte(head, '$'); d >= 0 {
				r.r += d
				r.state = stFrame
				continue
			}
			if nl >= 0 {
				r.r += nl + 1
				r.state = stOutside
				continue
			}
			r.r = r.w
		}
		// Everything buffered is used up, short of a partial frame.
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// outside scans text outside a frame, up to a '$' (the state becomes
// stFrame) or the end of what is buffered. It returns true with r.f set
// when a console line is complete and reported.
func (r *Reader) outside(buf []byte) bool {
	for r.r < r.w {
		c := buf[r.r]
		switch {
		case c == '$':
			// Text before a '$' on the same line is not a console line.
			r.stats.GarbageBytes += uint64(r.lineLen)
			r.lineLen, r.lineBad, r.conN = 0, false, 0
			r.state = stFrame
			return false
		case c == '\n':
			r.r++
			if r.endLine() && r.conReports {
				r.f = Frame{Type: TypeConsole, Line: r.con[:r.conN]}
				r.conN = 0
				return true
			}
			r.conN = 0
			continue
		case c >= 0x20 && c <= 0x7E || c == '\t' || c == '\r':
			if r.conN < MaxConsole {
				r.con[r.conN] = c
				r.conN++
			}
		default:
			r.lineBad = true
		}
		r.lineLen++
		r.r++
	}
	return false
}

// endLine classifies the line just ended by '\n'; true for a console line.
func (r *Reader) endLine() bool {
	n, bad := r.lineLen, r.lineBad
	r.lineLen, r.lineBad = 0, false
	text := r.con[:r.conN]
	if len(text) > 0 && text[len(text)-1] == '\r' && n <= MaxConsole {
		r.conN--
		text = text[:r.conN]
	}
	switch {
	case !bad && r.conN == 0 && n <= 1:
		return false // an empty line (or a lone \r): nothing
	case bad || headless(text):
		r.stats.GarbageBytes += uint64(n + 1)
		return false
	}
	if n > MaxConsole {
		r.stats.GarbageBytes += uint64(n - MaxConsole)
	}
	r.stats.ConsoleLines++
	return true
}

// headless reports whether text looks like a frame whose '$' was lost or
// mangled on the line, never console text: it ends like a frame ("*" and
// four hex digits), or it starts like one (a type and a comma, after at
// most one other byte: the '$' with a bit flipped). Noise that mangles
// more than that can still pass for console text.
func headless(text []byte) bool {
	n := len(text)
	if n >= 5 && text[n-5] == '*' {
		return true // the CRC digits may be mangled too
	}
	typed := func(t []byte) bool { return len(t) >= 3 && isUpper(t[0]) && isUpper(t[1]) && t[2] == ',' }
	return typed(text) || (n > 0 && typed(text[1:]))
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// fill reads more input after the partial frame (if any) in buf[r:w].
func (r *Reader) fill() error {
	if r.err != nil {
		err := r.err
		r.err = nil
		return r.atError(err)
	}
	if r.state == stFrame {
		if r.r > 0 {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
	} else {
		r.r, r.w = 0, 0
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return io.ErrShortBuffer // a broken io.Reader; keep what we have
		}
		r.w += n
		r.stats.Bytes += uint64(n)
		if err != nil {
			if n > 0 {
				r.err = err // use the data first
				return nil
			}
			return r.atError(err)
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// atError is called when err is about to be returned with no data left.
func (r *Reader) atError(err error) error {
	if err == io.EOF && r.state == stFrame {
		r.stats.Truncated++
		r.state = stOutside
		r.r = r.w
	}
	if err == io.EOF && r.lineLen > 0 {
		// A partial line at the end is not console text.
		r.stats.GarbageBytes += uint64(r.lineLen)
		r.lineLen, r.lineBad, r.conN = 0, false, 0
	}
	return err
}

// Stats returns the counters so far.
func (r *Reader) Stats() Stats { return r.stats }

// BytesRead is Stats().Bytes: the bytes read from the source so far
// (counted on the wire for a FrameSource), without copying every counter.
func (r *Reader) BytesRead() uint64 { return r.stats.Bytes }
