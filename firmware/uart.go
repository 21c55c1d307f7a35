package firmware

import (
	"sync"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// uart is the board's transmit side: frames are appended to buf with the
// wire encoders; with a baud rate each frame becomes readable when its last
// byte has left the line (10 bit-times a byte, frames back to back), and a
// frame that does not fit the transmit buffer when it is emitted is dropped.
//
// Offsets into buf are absolute (base counts bytes already compacted away)
// so pending frames keep their end offsets across compaction.
type uart struct {
	buf   []byte
	rd    int   // read position in buf
	base  int64 // absolute offset of buf[0]
	ready int64 // absolute offset up to which bytes are readable
	baud  int64
	txBuf int64
	free  int64 // time the line becomes free (ns)

	pend     []pendFrame // frames still on the line, in order
	pendHead int

	// lineNS[n] is the time n bytes take on the line (ns, rounded up),
	// for every frame length a receiver accepts: a division per frame
	// otherwise.
	lineNS []int64
}

type pendFrame struct {
	end int64 // absolute end offset
	at  int64 // time the last byte is sent
}

func (u *uart) init(baud, txBuf int) {
	u.baud = int64(baud)
	u.txBuf = int64(txBuf)
	u.buf = (*txPool.Get().(*[]byte))[:0]
	u.pend = make([]pendFrame, 0, 256)
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
	txPool     = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
	lineTables sync.Map
)

// release gives the transmit buffer back to txPool; the UART still works
// after it (with a buffer of its own).
func (u *uart) release() {
	if u.buf != nil {
		b := u.buf[:0]
		u.buf, u.rd, u.base, u.ready = nil, 0, u.base+int64(len(u.buf)), u.base+int64(len(u.buf))
		u.pend, u.pendHead = u.pend[:0], 0
		txPool.Put(&b)
	}
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
	if len(u.buf) > maxUnread {
		u.discard()
	}
	end := u.base + int64(len(u.buf))
	if u.baud == 0 {
		u.ready = end
		return true
	}
	t := max(now, u.free)
	if n < len(u.lineNS) {
		t += u.lineNS[n]
	} else {
		t += u.bytesNS(n)
	}
	u.free = t
	u.pend = append(u.pend, pendFrame{end: end, at: t})
	return true
}

// maxUnread bounds the bytes kept for a host that does not read: beyond
// it, bytes already sent are thrown away (lost on the line, as on a real
// port nobody listens to), so memory does not grow with run length.
const maxUnread = 8 << 20

func (u *uart) discard() {
	if lim := int(u.ready - u.base); lim > u.rd {
		u.rd = lim
	}
	m := copy(u.buf, u.buf[u.rd:])
	u.base += int64(u.rd)
	u.buf, u.rd = u.buf[:m], 0
}

// advance makes the frames sent by now readable.
func (u *uart) advance(now int64) {
	for u.pendHead < len(u.pend) && u.pend[u.pendHead].at <= now {
		u.ready = u.pend[u.pendHead].end
		u.pendHead++
	}
	if u.pendHead == len(u.pend) {
		u.pend, u.pendHead = u.pend[:0], 0
	} else if u.pendHead > 1024 && u.pendHead > len(u.pend)/2 {
		n := copy(u.pend, u.pend[u.pendHead:])
		u.pend, u.pendHead = u.pend[:n], 0
	}
}

// next returns when the next frame on the line becomes readable.
func (u *uart) next() (int64, bool) {
	if u.pendHead < len(u.pend) {
		return u.pend[u.pendHead].at, true
	}
	return 0, false
}

func (u *uart) read(p []byte) int {
	lim := int(u.ready - u.base)
	n := copy(p, u.buf[u.rd:lim])
	u.rd += n
	switch {
	case u.rd == len(u.buf):
		u.base += int64(len(u.buf))
		u.buf, u.rd = u.buf[:0], 0
	case u.rd > 32<<10 && u.rd > len(u.buf)/2:
		m := copy(u.buf, u.buf[u.rd:])
		u.base += int64(u.rd)
		u.buf, u.rd = u.buf[:m], 0
	}
	return n
}
