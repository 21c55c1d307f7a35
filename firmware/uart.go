package firmware

import (
	"sync"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// uart is the board's transmit side: a queue of frames in line order.
// With a baud rate each frame becomes readable when its last byte has
// left the line (10 bit-times a byte, frames back to back), and a frame
// that does not fit the transmit buffer when it is emitted is dropped.
//
// Most frames are EV and SM frames, and the queue keeps those decoded
// (their Event or Summary) with their length: the bytes are made only if
// someone reads bytes (Read), and a reader that takes frames (readFrames,
// the simulator's Reader) gets them without their ever being encoded and
// parsed back. Other frames are appended to buf by the wire encoders and
// committed with commit.
//
// Stream offsets are absolute: the byte count since power-on of all the
// frames ever queued.
type uart struct {
	// Frames not yet read whole: q[head:sent] sent, q[sent:] still on
	// the line; at[i] is when q[i]'s last byte is sent. Frames read whole
	// stay below head until the next read compacts them away: the last
	// batch readFrames handed over is q itself, and the host may answer
	// (and the board queue an AK) before it is done with it.
	q    []wire.SourceFrame // q[:n] are in use; len(q) is its capacity
	at   []int64
	n    int
	head int
	sent int
	part int // bytes of q[head] a short Read has returned already

	buf []byte // the bytes of queued frames that are not events (Off, N)

	readPos  int64 // stream offset of the next byte to read
	readyEnd int64 // stream offset up to which bytes are readable
	end      int64 // stream offset after the last queued frame

	baud  int64
	txBuf int64
	free  int64 // time the line becomes free (ns)

	// seqNext and timeNext are the smallest EV seq and time (µs) with
	// one more digit than seqLen and timeLen: the digit counts of an EV
	// frame's first two numbers change rarely.
	seqNext, timeNext uint64
	seqLen, timeLen   int

	scratch []byte // one EV frame encoded for a read that cuts it

	// lineNS[n] is the time n bytes take on the line (ns, rounded up),
	// for every frame length a receiver accepts: a division per frame
	// otherwise.
	lineNS []int64
}

func (u *uart) init(baud, txBuf int) {
	u.baud = int64(baud)
	u.txBuf = int64(txBuf)
	u.buf = (*txPool.Get().(*[]byte))[:0]
	u.q = make([]wire.SourceFrame, 256)
	u.at = make([]int64, 256)
	if baud > 0 {
		if t, ok := lineTables.Load(baud); ok {
			u.lineNS = t.([]int64)
		} else {
			u.lineNS = make([]int64, 2*wire.MaxFrame)
			for n := range u.lineNS {
				u.lineNS[n] = u.bytesNS(n)
			}
			lineTables.Store(baud, u.lineNS)
		}
	}
}

// txPool keeps the transmit buffers of released boards; lineTables the
// lineNS tables by baud rate (read only once made).
var (
	txPool     = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	lineTables sync.Map
)

// release gives the transmit buffer back to txPool and loses every frame
// not read yet; the UART still works after it (with a buffer of its own).
func (u *uart) release() {
	if u.buf != nil {
		b := u.buf[:0]
		txPool.Put(&b)
		u.buf = nil
	}
	u.n, u.head, u.sent, u.part = 0, 0, 0, 0
	u.readPos, u.readyEnd = u.end, u.end
}

// bytesNS is the time n bytes take on the line, rounded up to the ns.
func (u *uart) bytesNS(n int) int64 { return (int64(n)*1e10 + u.baud - 1) / u.baud }

// fits reports whether n more bytes fit in the transmit buffer at time now.
func (u *uart) fits(now int64, n int) bool {
	if u.baud == 0 {
		return true
	}
	var pending int64
	if u.free > now {
		// bytes not yet sent: ceil(remaining time * baud / 10 bits / 1e9)
		pending = ((u.free-now)*u.baud + 1e10 - 1) / 1e10
	}
	return pending+int64(n) <= u.txBuf
}

// commit queues the frame buf[start:] for transmission at time now, or
// removes it and returns false when it does not fit.
func (u *uart) commit(now int64, start int) bool {
	n := len(u.buf) - start
	if !u.fits(now, n) {
		u.buf = u.buf[:start]
		return false
	}
	at := u.sendTime(now, n)
	u.push(wire.SourceFrame{Off: int32(start), N: int32(n)}, at)
	return true
}

// commitEvent queues the EV frame of e at time now, or returns false when
// it does not fit.
func (u *uart) commitEvent(now int64, e wire.Event) bool {
	if uint64(e.Seq) >= u.seqNext || uint64(e.Seq) < u.seqNext/10 {
		u.seqLen, u.seqNext = digits(uint64(e.Seq))
	}
	if e.Time >= u.timeNext || e.Time < u.timeNext/10 {
		u.timeLen, u.timeNext = digits(e.Time)
	}
	n := wire.EventLenAfter(u.seqLen+u.timeLen, e)
	if !u.fits(now, n) {
		return false
	}
	at := u.sendTime(now, n)
	u.push(wire.SourceFrame{Ev: e, N: int32(n), Event: true}, at)
	return true
}

// commitSummary queues the SM frame of s at time now, or returns false
// when it does not fit.
func (u *uart) commitSummary(now int64, s wire.Summary) bool {
	f := wire.SummaryFrame(s)
	if !u.fits(now, int(f.N)) {
		return false
	}
	u.push(f, u.sendTime(now, int(f.N)))
	return true
}

// digits returns the number of decimal digits of v and the smallest
// number with one more (the largest uint64 when there is none).
func digits(v uint64) (int, uint64) {
	n, p := 1, uint64(10)
	for v >= p {
		n++
		if p > (1<<64-1)/10 {
			return n, 1<<64 - 1
		}
		p *= 10
	}
	return n, p
}

// push queues frame f, whose last byte is sent at at. It stores into q
// rather than appending to it: an append stores q's pointer back too, and
// with a collection running that store pays a write barrier per frame.
func (u *uart) push(f wire.SourceFrame, at int64) {
	if u.n == len(u.q) {
		q := make([]wire.SourceFrame, max(2*len(u.q), 256))
		copy(q, u.q)
		times := make([]int64, len(q))
		copy(times, u.at)
		u.q, u.at = q, times
	}
	u.q[u.n] = f
	u.at[u.n] = at
	u.n++
}

// sendTime queues n more bytes on the line at time now and returns when
// their last byte is sent.
func (u *uart) sendTime(now int64, n int) int64 {
	if u.end-u.readPos > maxUnread {
		u.discard()
	}
	u.end += int64(n)
	if u.baud == 0 {
		return now
	}
	t := max(now, u.free)
	if n < len(u.lineNS) {
		t += u.lineNS[n]
	} else {
		t += u.bytesNS(n)
	}
	u.free = t
	return t
}

// maxUnread bounds the bytes kept for a host that does not read: beyond
// it, frames already sent are thrown away (lost on the line, as on a real
// port nobody listens to), so memory does not grow with run length.
const maxUnread = 8 << 20

func (u *uart) discard() {
	u.head, u.part = u.sent, 0
	u.readPos = u.readyEnd
}

// compact drops the frames read whole, and their bytes. Only a read calls
// it: the batch the last readFrames handed over is still q's.
func (u *uart) compact() {
	if u.head == 0 {
		return
	}
	if u.head == u.n {
		u.n, u.head, u.sent = 0, 0, 0
		u.buf = u.buf[:0]
		return
	}
	if u.head < 256 && u.head < u.n/2 {
		return
	}
	lo := len(u.buf) // the first byte a frame still queued needs
	for i := u.head; i < u.n; i++ {
		if u.q[i].IsLine() {
			lo = int(u.q[i].Off)
			break
		}
	}
	if lo > 0 {
		u.buf = u.buf[:copy(u.buf, u.buf[lo:])]
		for i := u.head; i < u.n; i++ {
			if u.q[i].IsLine() {
				u.q[i].Off -= int32(lo)
			}
		}
	}
	copy(u.q, u.q[u.head:u.n])
	copy(u.at, u.at[u.head:u.n])
	u.n, u.sent, u.head = u.n-u.head, u.sent-u.head, 0
}

// advance makes the frames sent by now readable.
func (u *uart) advance(now int64) {
	for u.sent < u.n && u.at[u.sent] <= now {
		u.readyEnd += int64(u.q[u.sent].N)
		u.sent++
	}
}

// next returns when the next frame on the line becomes readable.
func (u *uart) next() (int64, bool) {
	if u.sent < u.n {
		return u.at[u.sent], true
	}
	return 0, false
}

// encode appends the bytes of a frame queued decoded.
func (u *uart) encode(dst []byte, f *wire.SourceFrame) []byte {
	fs := wire.Frames{List: []wire.SourceFrame{*f}}
	return fs.AppendWire(dst)
}

// readable is the number of bytes sent and not read yet.
func (u *uart) readable() int { return int(u.readyEnd - u.readPos) }

// read copies sent bytes into p, encoding EV and SM frames as it goes.
func (u *uart) read(p []byte) int {
	u.compact()
	n := 0
	for u.head < u.sent && n < len(p) {
		f := &u.q[u.head]
		if f.Event && u.part == 0 {
			if m := wire.PutEvent(p[n:], f.Ev); m > 0 {
				n += m
				u.head++
				continue
			}
		}
		var src []byte
		if f.IsLine() {
			src = u.buf[f.Off : f.Off+f.N]
		} else {
			if u.part == 0 {
				u.scratch = u.encode(u.scratch[:0], f)
			}
			src = u.scratch
		}
		m := copy(p[n:], src[u.part:])
		n += m
		u.part += m
		if u.part == int(f.N) {
			u.part = 0
			u.head++
		}
	}
	u.readPos += int64(n)
	return n
}

// readFrames hands the sent frames to fs, whole, as long as they fit in
// max bytes (at least one), and returns their length on the wire. fs gets
// the queue itself, valid until the next read. The rest of a frame a
// short read cut goes as bytes, in a batch of its own.
func (u *uart) readFrames(fs *wire.Frames, max int) int {
	u.compact()
	if u.head == u.sent {
		return 0
	}
	if u.part > 0 {
		f := &u.q[u.head]
		src := u.scratch
		if f.IsLine() {
			src = u.buf[f.Off : f.Off+f.N]
		}
		fs.AddLine(src[u.part:])
		n := int(f.N) - u.part
		u.part = 0
		u.head++
		u.readPos += int64(n)
		return n
	}
	end, n := u.sent, u.readable()
	if n > max {
		end, n = u.head, 0
		for end < u.sent && (n == 0 || n+int(u.q[end].N) <= max) {
			n += int(u.q[end].N)
			end++
		}
	}
	fs.Set(u.q[u.head:end], u.buf)
	u.head = end
	u.readPos += int64(n)
	return n
}

// cut loses what is still on the line at now: the frames not yet sent
// completely. What the host could already read stays readable.
func (u *uart) cut(now int64) {
	u.advance(now)
	for i := u.sent; i < u.n; i++ {
		if u.q[i].IsLine() {
			u.buf = u.buf[:u.q[i].Off]
			break
		}
	}
	u.n = u.sent
	u.end = u.readyEnd
	if u.free > now {
		u.free = now
	}
}
