// Package tracelog stores the raw wire stream of a run as the host received
// it, gzip-compressed, with the host's receive time of every chunk, and
// replays it later: any run can be re-analysed, drawn on a timeline or
// exported without the board.
//
// # Format
//
// A gzip stream whose content is a header line
//
//	HILCHAOS-WIRE 2 <target name>\n
//
// followed by chunks, each uvarint(host ns since the log was opened),
// uvarint(length<<1 | frames), then length bytes: with frames 0, bytes
// exactly as read from the target; with frames 1, frames a source handed
// over decoded, in the compact form frames.go describes, read back as the
// bytes the source would have sent. A log cut short by a crash replays up
// to its last complete chunk. Logs of format 1 (HILCHAOS-WIRE 1, whose
// chunks are uvarint(length) and bytes) are read too.
package tracelog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Magic starts every log this package writes; MagicV1 starts logs of
// format 1, which it reads.
const (
	Magic   = "HILCHAOS-WIRE 2"
	MagicV1 = "HILCHAOS-WIRE 1"
)

// Dir is the directory, inside a results directory, that holds the logs.
const Dir = "traces"

// Path is where run index's log lives, relative to the results directory.
func Path(index int) string { return filepath.Join(Dir, fmt.Sprintf("run-%d.wire.gz", index)) }

// Level is the gzip compression level of new logs. Huffman coding alone
// (no match search) keeps storing a trace to a few percent of the cost of
// simulating it, at about 1.4 times the size of gzip -1: a wire stream is
// mostly decimal digits, which entropy coding alone squeezes well
// (BenchmarkWriter compares the levels).
var Level = gzip.HuffmanOnly

// Writer is an io.Writer that logs every Write as one chunk.
//
// Compression runs on a goroutine of its own: Write and WriteFrames add
// the chunk to a batch and hand full batches over, so the run that
// produces the stream (on the simulator, as fast as a core goes) does not
// also wait for its encoding and compression, and the two share the
// machine's cores. Close waits for the last batch and the file's sync;
// CloseAsync lets the caller go on meanwhile.
type Writer struct {
	f     *os.File
	bw    *bufio.Writer
	gz    *gzip.Writer
	level int
	now   func() time.Time
	start time.Time

	batch *batch      // chunks not handed over yet; nil once closed
	codec frameCodec  // the compressor's
	work  chan *batch // full batches, in order, to the compressor
	spare chan *batch // batches the compressor is done with
	done  chan error  // the compressor's first error, once work is closed

	// A live log (CreateLive) never waits for the compressor: full
	// batches it cannot take yet wait in queue.
	live   bool
	queue  []*batch
	queued int // bytes of the stream in queue
	// behind is set when the queue outgrew MaxQueued: the log stops
	// there, at host time behindAt since it was opened.
	behind   bool
	behindAt time.Duration
}

// MaxQueued is how many bytes of a live stream a log keeps in memory
// while its file system is too slow to take them (about 3 minutes of USB
// full speed). Beyond it the log stops, and Close says so.
var MaxQueued = 256 << 20

// batch is a run of chunks for the compressor: chunks given as bytes
// (Write) and chunks given as frames (WriteFrames), which the compressor
// encodes.
type batch struct {
	chunks []chunk
	raw    []byte             // the bytes of byte chunks
	frames []wire.SourceFrame // the frames of frame chunks
	lines  []byte             // what their non-event frames' Off and N index
	size   int                // bytes on the wire so far
	out    []byte             // the compressor's encoding of it
}

type chunk struct {
	at     uint64 // host ns since the log was opened
	frames bool   // frames[lo:hi], or raw[lo:hi]
	lo, hi int
}

func (b *batch) reset() {
	b.chunks, b.raw, b.frames, b.lines, b.size = b.chunks[:0], b.raw[:0], b.frames[:0], b.lines[:0], 0
}

// batchSize is how many bytes of the stream a Writer collects before it
// hands them to the compressor: a few per second of a real board's
// stream, a few per run on the simulator.
const batchSize = 64 << 10

// batches keeps the batches of closed Writers.
var batches = sync.Pool{New: func() any { return new(batch) }}

// CreateLive is Create for a stream read in real time (a serial port, a
// socket, an emulator): handing a batch to the compressor never waits, so
// a slow or stalled file system never holds up the reads, and the board
// loses nothing to it. Batches wait in memory meanwhile, up to MaxQueued.
func CreateLive(path, target string, now func() time.Time) (*Writer, error) {
	w, err := Create(path, target, now)
	if w != nil {
		w.live = true
	}
	return w, err
}

// Create creates (or truncates) the log at path. now is the host clock the
// receive times come from (the target's: virtual for the sim). A full
// batch waits for the compressor to take it: the right thing for a source
// that waits in turn (the simulator); see CreateLive for the others.
func Create(path, target string, now func() time.Time) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw, gz := writers(f)
	w := &Writer{f: f, bw: bw, gz: gz, level: Level, now: now, start: now(),
		batch: batches.Get().(*batch), work: make(chan *batch, 2), spare: make(chan *batch, 3), done: make(chan error, 1)}
	w.batch.reset()
	name := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '_'
		}
		return r
	}, target)
	if _, err := fmt.Fprintf(gz, "%s %s\n", Magic, name); err != nil {
		f.Close()
		return nil, err
	}
	go w.compress()
	return w, nil
}

// compress encodes the batches and writes them to the compressor, in
// order; when there are no more it flushes the compressor and reports the
// first error. The file's sync and close are the waiter's (CloseAsync).
func (w *Writer) compress() {
	var err error
	for b := range w.work {
		if err == nil {
			b.encode(&w.codec)
			_, err = w.gz.Write(b.out)
		}
		b.reset()
		select {
		case w.spare <- b:
		default:
			batches.Put(b)
		}
	}
	for len(w.spare) > 0 {
		batches.Put(<-w.spare)
	}
	err = errors.Join(err, w.gz.Close(), w.bw.Flush())
	w.bw.Reset(nil)
	writerPool.Put(&pooled{bw: w.bw, gz: w.gz, level: w.level})
	w.done <- err
}

// encode puts the batch's chunks in b.out as the log stores them.
func (b *batch) encode(codec *frameCodec) {
	var hdr [2 * binary.MaxVarintLen64]byte
	out := b.out[:0]
	for _, c := range b.chunks {
		if !c.frames {
			data := b.raw[c.lo:c.hi]
			n := binary.PutUvarint(hdr[:], c.at)
			n += binary.PutUvarint(hdr[n:], uint64(len(data))<<1)
			out = append(append(out, hdr[:n]...), data...)
			continue
		}
		// The length comes before the data and is known after it:
		// encode, then move the data up by the header's length.
		start := len(out)
		out = codec.append(out, b.frames[c.lo:c.hi], b.lines)
		size := len(out) - start
		n := binary.PutUvarint(hdr[:], c.at)
		n += binary.PutUvarint(hdr[n:], uint64(size)<<1|1)
		out = append(out, hdr[:n]...)
		copy(out[start+n:], out[start:start+size])
		copy(out[start:], hdr[:n])
	}
	b.out = out
}

// added hands the batch over once it is full.
func (w *Writer) added(n int) {
	w.batch.size += n
	if w.batch.size >= batchSize {
		if !w.handOver(w.batch) {
			return
		}
		select {
		case w.batch = <-w.spare:
		default:
			w.batch = batches.Get().(*batch)
			w.batch.reset()
		}
	}
}

// handOver gives b to the compressor, in order after those in queue:
// waiting for it, or, for a live log, queueing b when it is busy. It
// reports false when the log stopped instead (the queue would outgrow
// MaxQueued).
func (w *Writer) handOver(b *batch) bool {
	if !w.live {
		w.work <- b
		return true
	}
	w.queue = append(w.queue, b)
	w.queued += b.size
drain:
	for len(w.queue) > 0 {
		select {
		case w.work <- w.queue[0]:
			w.queued -= w.queue[0].size
			w.queue[0] = nil
			w.queue = w.queue[1:]
		default:
			break drain
		}
	}
	if w.queued > MaxQueued {
		// b is the last in queue: the log stops where it starts.
		w.queue = w.queue[:len(w.queue)-1]
		w.queued -= b.size
		w.behind, w.behindAt = true, time.Duration(b.chunks[0].at)
		b.reset()
		return false
	}
	return true
}

// Write logs p as one chunk received now. It never fails the caller's read
// path: the first error is kept and returned by Close.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 || w.batch == nil || w.behind {
		return len(p), nil
	}
	b := w.batch
	lo := len(b.raw)
	b.raw = append(b.raw, p...)
	b.chunks = append(b.chunks, chunk{at: uint64(w.now().Sub(w.start)), lo: lo, hi: len(b.raw)})
	w.added(len(p))
	return len(p), nil
}

// WriteFrames logs the frames of fs, n bytes on the wire, as one chunk
// received now, which reads back as Write of their bytes (fs.AppendWire)
// would: it is stored as a frame chunk, some five times smaller, encoded
// on the compressor's goroutine. fs may change once it returns.
func (w *Writer) WriteFrames(fs *wire.Frames, n int) {
	if len(fs.List) == 0 || w.batch == nil || w.behind {
		return
	}
	b := w.batch
	lo := len(b.frames)
	b.frames = append(b.frames, fs.List...)
	for i := lo; i < len(b.frames); i++ {
		if f := &b.frames[i]; f.IsLine() {
			off := len(b.lines)
			b.lines = append(b.lines, fs.Bytes[f.Off:f.Off+f.N]...)
			f.Off = int32(off)
		}
	}
	b.chunks = append(b.chunks, chunk{at: uint64(w.now().Sub(w.start)), frames: true, lo: lo, hi: len(b.frames)})
	w.added(n)
}

// pooled is a compressor and its output buffer, kept for the next log: a
// campaign on the simulator writes a log every few dozen milliseconds,
// and a new compressor is some 300 KB to allocate and clear.
type pooled struct {
	bw    *bufio.Writer
	gz    *gzip.Writer
	level int
}

var writerPool sync.Pool

// writers returns a buffer and a compressor at Level writing to f.
func writers(f *os.File) (*bufio.Writer, *gzip.Writer) {
	if p, ok := writerPool.Get().(*pooled); ok && p.level == Level {
		p.bw.Reset(f)
		p.gz.Reset(p.bw)
		return p.bw, p.gz
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	gz, _ := gzip.NewWriterLevel(bw, Level)
	return bw, gz
}

// Close flushes the log, syncs it to disk, closes it and syncs its
// directory entry. A record that points at a trace is stored after this
// returns.
func (w *Writer) Close() error { return w.CloseAsync()() }

// CloseAsync is Close in two halves: the log's goroutine compresses what
// is left and flushes it while the caller goes on (a campaign on the
// simulator starts its next run), and the returned function waits for
// that, then syncs and closes the file and syncs its directory entry, and
// returns what Close would. A record that points at the trace is stored
// after it returns nil. It must be called: the file is open until then.
//
// The syncs are the waiter's so that one goroutine can do them all, one
// after another (the campaign's committer). A goroutine in a system call
// keeps its scheduler slot until the runtime takes it back, which can
// take milliseconds in a busy program: with the logs' goroutines syncing
// on their own, both slots of a 2-core machine were often held by syncs
// while runs were ready to go on.
func (w *Writer) CloseAsync() (wait func() error) {
	if w.batch == nil {
		err := fmt.Errorf("trace log %s: closed twice", w.f.Name())
		return func() error { return err }
	}
	// The stream has ended: what waits in queue may wait for the
	// compressor now.
	for _, b := range w.queue {
		w.work <- b
	}
	w.queue = nil
	if len(w.batch.chunks) > 0 {
		w.work <- w.batch
	} else {
		batches.Put(w.batch)
	}
	w.batch = nil
	close(w.work)
	var behind error
	if w.behind {
		behind = fmt.Errorf("the file system fell more than %.1f MB behind the stream: the log stops at host time %s of the run", float64(MaxQueued)/(1<<20), w.behindAt.Round(time.Millisecond))
	}
	return sync.OnceValue(func() error {
		err := errors.Join(<-w.done, w.f.Sync(), w.f.Close(), syncDir(filepath.Dir(w.f.Name())), behind)
		if err != nil {
			return fmt.Errorf("trace log %s: %w", w.f.Name(), err)
		}
		return nil
	})
}

// Reader reads a log's chunks.
type Reader struct {
	Target string
	f      *os.File
	br     *bufio.Reader
	v1     bool       // format 1: no frame chunks
	codec  frameCodec // for frame chunks
	buf    []byte     // the chunk as stored
	out    []byte     // the bytes of a frame chunk
	rest   []byte     // what Read has not handed out of the last chunk
}

// Open opens the log at path and reads its header.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	br := bufio.NewReaderSize(gz, 64<<10)
	// ReadSlice, not ReadString: the header must fit the buffer, so a
	// file with no line end is not decompressed whole into memory.
	line, err := br.ReadSlice('\n')
	v1 := bytes.HasPrefix(line, []byte(MagicV1+" "))
	if err != nil || !(v1 || bytes.HasPrefix(line, []byte(Magic+" "))) {
		f.Close()
		return nil, fmt.Errorf("%s: not a hilchaos wire log", path)
	}
	target := string(line[len(Magic)+1 : len(line)-1])
	return &Reader{Target: target, f: f, br: br, v1: v1}, nil
}

// Next returns the next chunk: its host receive time (since the log was
// opened) and bytes, valid until the next call. io.EOF at the end; a log cut
// short ends with io.EOF at its last complete chunk.
func (r *Reader) Next() (time.Duration, []byte, error) {
	ns, err := binary.ReadUvarint(r.br)
	if err != nil {
		return 0, nil, r.fail(err)
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return 0, nil, r.fail(err)
	}
	frames := false
	if !r.v1 {
		frames, n = n&1 == 1, n>>1
	}
	if n > 1<<24 {
		return 0, nil, fmt.Errorf("%s: chunk of %d bytes: damaged log", r.f.Name(), n)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return 0, nil, r.fail(err)
	}
	if frames {
		if r.out, err = r.codec.decode(r.out[:0], b); err != nil {
			return 0, nil, fmt.Errorf("%s: %w: damaged log", r.f.Name(), err)
		}
		b = r.out
	}
	return time.Duration(ns), b, nil
}

// fail maps the end of the stream, complete or cut short, to io.EOF, and
// names the file in any other error (a damaged gzip stream).
func (r *Reader) fail(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return io.EOF
	}
	return fmt.Errorf("%s: %w", r.f.Name(), err)
}

// Close closes the log.
func (r *Reader) Close() error { return r.f.Close() }

// Read makes the Reader an io.Reader of the wire bytes alone.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		_, b, err := r.Next()
		if err != nil {
			return 0, err
		}
		r.rest = b
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// Handler receives a replayed run, on the same run-time axis as the live
// run: µs since the run's GO, continuing across resets from the moment of
// each reset. *analyze.Analyzer is one.
type Handler interface {
	SetTable(*wire.Table)
	Reset(atUS int64)
	Event(atUS int64, ev *wire.Event)
}

// ConsoleHandler is a Handler that also wants the board's console lines
// (PROTOCOL.md 1.4), each at the run time of the last event before it.
type ConsoleHandler interface {
	Console(atUS int64, text []byte)
}

// Replay decodes the log at path and feeds h.
func Replay(path string, h Handler) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return replay(r, h)
}

func replay(src io.Reader, h Handler) error {
	wr := wire.NewReader(src)
	con, wantConsole := h.(ConsoleHandler)
	wr.ReportConsole(wantConsole)
	var (
		tbl                   wire.Table
		booted, running       bool
		haveSeq               bool
		lastSeq               uint32
		base, origin, lastRun int64
		resets                int
	)
	reset := func() {
		h.Reset(lastRun)
		resets++
		running, haveSeq = false, false
		base, origin = lastRun, 0
	}
	for {
		f, err := wr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch f.Type {
		case wire.TypeConsole:
			con.Console(lastRun, f.Line)
		case wire.TypeBoot:
			if booted {
				reset()
			}
			booted = true
			tbl = wire.Table{}
			haveSeq = false
		case wire.TypeTask:
			if t, err := f.Task(); err == nil {
				tbl.Tasks = append(tbl.Tasks, t)
			}
		case wire.TypeLock:
			if l, err := f.Lock(); err == nil {
				tbl.Locks = append(tbl.Locks, l)
			}
		case wire.TypeTableEnd:
			h.SetTable(&tbl)
		case wire.TypeDone:
			running = false
		case wire.TypeEvent:
			ev, err := f.Event()
			if err != nil {
				continue
			}
			if haveSeq && ev.Seq <= lastSeq && ev.Seq != lastSeq+1 {
				reset()
			}
			haveSeq, lastSeq = true, ev.Seq
			if ev.Kind == wire.EvRun {
				running = true
				if base == 0 && resets == 0 {
					origin = int64(ev.Time)
				}
			}
			if !running {
				continue
			}
			lastRun = base + int64(ev.Time) - origin
			h.Event(lastRun, &ev)
		}
	}
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
