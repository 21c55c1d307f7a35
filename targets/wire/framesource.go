package wire

import "io"

// A FrameSource hands its frames to a Reader already decoded, so an EV or
// SM frame it made from an Event or a Summary is never encoded and parsed
// back in the same process. Only the simulator is one: its frames are the model's
// own, and what it hands over is exactly what its bytes would decode to
// (TestFrameSourceMatchesBytes in targets/sim checks both ways against
// each other, and the campaign tests compare whole runs).

// FrameSource is an Intact source that can also be read frame by frame.
// ReadFrames does what Read would do with a buffer of max bytes (the same
// waiting, the same deadlines and errors, the same bytes taken off the
// line) but fills the empty batch fs with the frames instead of copying
// their bytes. It returns the number of bytes those frames take on the
// wire. The frames are whole: a source that could cut one (max smaller
// than a frame, a frame half read by Read) hands the rest over as bytes,
// which the Reader then counts as malformed, as it would a cut line.
//
// The batch may be the source's own memory (Frames.Set): it stays valid
// until the source is read again, and the host may write to the source
// in between.
//
// A source is read with Read or with ReadFrames, not both.
type FrameSource interface {
	Intact
	ReadFrames(fs *Frames, max int) (int, error)
}

// Frames is a batch of frames from a FrameSource, in line order.
type Frames struct {
	List  []SourceFrame
	Bytes []byte // what Off and N of the frames given as lines index
	head  int

	alias    bool // List and Bytes are the source's (Set)
	own      []SourceFrame
	ownBytes []byte
}

// SourceFrame is one frame of a batch: an EV frame as its Event, an SM
// frame as its Summary, or any other frame as its line (with its line
// end) in Frames.Bytes[Off:Off+N].
type SourceFrame struct {
	// Ev is an EV frame's event, or an SM frame's Seq, Time, Task and
	// MaxResp (in Arg); Jobs and Misses are the rest of an SM frame.
	Ev           Event
	Off          int32
	N            int32 // the frame's length on the wire, line end included
	Jobs, Misses uint32
	Event        bool
	Summary      bool
}

// IsLine reports whether f is given as its line, not decoded.
func (f *SourceFrame) IsLine() bool { return !f.Event && !f.Summary }

// summary is the Summary of an SM frame f.
func (f *SourceFrame) summary() Summary {
	return Summary{Seq: f.Ev.Seq, Time: f.Ev.Time, Task: f.Ev.Task, Jobs: f.Jobs, MaxResp: f.Ev.Arg, Misses: f.Misses}
}

// SummaryFrame is the SourceFrame of the SM frame of s.
func SummaryFrame(s Summary) SourceFrame {
	return SourceFrame{Ev: Event{Seq: s.Seq, Time: s.Time, Task: s.Task, Arg: s.MaxResp}, N: int32(SummaryLen(s)), Jobs: s.Jobs, Misses: s.Misses, Summary: true}
}

// SummaryLen is the length on the wire of AppendSummary's frame for s,
// line end included, without encoding it.
func SummaryLen(s Summary) int {
	return 3 + 6 + decLen(uint64(s.Seq)) + decLen(s.Time) + intLen(int64(s.Task)) + decLen(uint64(s.Jobs)) +
		intLen(s.MaxResp) + decLen(uint64(s.Misses)) + 6 // "$SM", 6 commas, numbers, "*CRC\n"
}

// Reset empties the batch, keeping its own memory.
func (fs *Frames) Reset() {
	fs.List, fs.Bytes, fs.head, fs.alias = fs.own[:0], fs.ownBytes[:0], 0, false
}

// Set makes the batch list, whose lines are in bytes: a source's own
// memory, handed over without a copy. Adding to the batch afterwards
// copies it first.
func (fs *Frames) Set(list []SourceFrame, bytes []byte) {
	fs.List, fs.Bytes, fs.head, fs.alias = list, bytes, 0, true
}

// owned makes the batch its own memory, to add to it.
func (fs *Frames) owned() {
	if fs.alias {
		fs.own = append(fs.own[:0], fs.List...)
		fs.ownBytes = append(fs.ownBytes[:0], fs.Bytes...)
		fs.List, fs.Bytes, fs.alias = fs.own, fs.ownBytes, false
	}
}

// AddEvent appends an EV frame of n bytes on the wire.
func (fs *Frames) AddEvent(ev Event, n int) {
	fs.owned()
	fs.List = append(fs.List, SourceFrame{Ev: ev, N: int32(n), Event: true})
	fs.own = fs.List
}

// AddSummary appends the SM frame of s.
func (fs *Frames) AddSummary(s Summary) {
	fs.owned()
	fs.List = append(fs.List, SummaryFrame(s))
	fs.own = fs.List
}

// AddLine appends a frame given as its bytes on the wire.
func (fs *Frames) AddLine(line []byte) {
	fs.owned()
	fs.List = append(fs.List, SourceFrame{Off: int32(len(fs.Bytes)), N: int32(len(line))})
	fs.Bytes = append(fs.Bytes, line...)
	fs.own, fs.ownBytes = fs.List, fs.Bytes
}

// AppendWire appends the bytes on the wire of the batch's frames, exactly
// as Read would have returned them: for a raw log of the stream.
func (fs *Frames) AppendWire(dst []byte) []byte {
	for i := range fs.List {
		f := &fs.List[i]
		switch {
		case f.Event:
			dst = AppendEvent(dst, f.Ev)
		case f.Summary:
			dst = AppendSummary(dst, f.summary())
		default:
			dst = append(dst, fs.Bytes[f.Off:f.Off+f.N]...)
		}
	}
	return dst
}

// PutEvent encodes ev as AppendEvent would into the start of p, when p
// has room for the longest EV frame, and returns its length; 0 when p is
// too short (nothing is written then).
func PutEvent(p []byte, ev Event) int {
	if len(p) < maxEventLen {
		return 0
	}
	return len(appendEvent(p[:0:len(p)], TypeEvent, ev))
}

// EventLen is the length on the wire of AppendEvent's frame for ev, line
// end included, without encoding it.
func EventLen(ev Event) int {
	return EventLenAfter(decLen(uint64(ev.Seq))+decLen(ev.Time), ev)
}

// EventLenAfter is EventLen for a caller that knows how many decimal
// digits ev.Seq and ev.Time have together.
func EventLenAfter(seqTimeDigits int, ev Event) int {
	n := 4 + 1 + 3 + seqTimeDigits // "$EV," seq "," time ",KK"
	if ev.Arg != 0 || ev.Task != NoTask {
		if uint32(ev.Task) < 10 {
			n += 2 // most events: a task index of one digit
		} else {
			n += 1 + intLen(int64(ev.Task))
		}
		if ev.Arg != 0 {
			n += 1 + intLen(ev.Arg)
		}
	}
	return n + 6 // "*CRC\n"
}

func intLen(v int64) int {
	if v < 0 {
		return 1 + decLen(uint64(-v))
	}
	return decLen(uint64(v))
}

// frameSource returns rd as a FrameSource when the Reader may read it
// frame by frame: only the very source that says so (see Intact).
func frameSource(rd io.Reader) FrameSource {
	if fs, ok := rd.(FrameSource); ok && fs.IntactSource() == rd {
		return fs
	}
	return nil
}

// setEvent makes f the EV frame of ev, as parsing its line would, but with
// no Line or Fields: it never was text.
func (f *Frame) setEvent(ev Event) {
	nf := 3
	if ev.Arg != 0 || ev.Task != NoTask {
		nf = 4
		if ev.Arg != 0 {
			nf = 5
		}
	}
	for k := 0; k < MaxFields && f.Fields[k] != nil; k++ {
		f.Fields[k] = nil
	}
	f.Type, f.NField, f.Line, f.ev, f.evOK, f.smOK = TypeEvent, nf, nil, ev, true, false
}

// setSummary makes f the SM frame of s, with no Line or Fields.
func (f *Frame) setSummary(s Summary) {
	for k := 0; k < MaxFields && f.Fields[k] != nil; k++ {
		f.Fields[k] = nil
	}
	f.Type, f.NField, f.Line, f.sm, f.smOK, f.evOK = TypeSummary, 6, nil, s, true, false
}

// nextFromSource is Next on a FrameSource.
func (r *Reader) nextFromSource() (*Frame, error) {
	fq := &r.fq
	for {
		for fq.head < len(fq.List) {
			sf := &fq.List[fq.head]
			fq.head++
			if sf.Event {
				r.f.setEvent(sf.Ev)
				r.stats.Frames++
				return &r.f, nil
			}
			if sf.Summary {
				r.f.setSummary(sf.summary())
				r.stats.Frames++
				return &r.f, nil
			}
			line := fq.Bytes[sf.Off : sf.Off+sf.N]
			if n := len(line); n > 0 && line[n-1] == '\n' {
				line = line[:n-1]
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if parseFrameCheck(line, &r.f, false) == nil {
				r.stats.Frames++
				return &r.f, nil
			}
			r.stats.Malformed++
		}
		if r.err != nil {
			err := r.err
			r.err = nil
			return nil, err
		}
		fq.Reset()
		var n int
		var err error
		for range maxEmptyReads {
			n, err = r.src.ReadFrames(fq, bufSize)
			if n > 0 || err != nil {
				break
			}
		}
		r.stats.Bytes += uint64(n)
		if err != nil {
			if n > 0 {
				r.err = err // use the frames first
				continue
			}
			return nil, err
		}
		if n == 0 {
			return nil, io.ErrNoProgress
		}
	}
}
