package tracelog

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// A frame chunk (format 2) holds frames a source handed over decoded
// (wire.FrameSource: the simulator), not their bytes. Each frame is a
// uvarint tag, then:
//
//	tag 0, a line:     uvarint(length), the line's bytes (line end included)
//	tag 1, an SM frame: seq, time, varint(task), uvarint(jobs), varint(max response), uvarint(misses)
//	tag 2+k, an EV frame of kind k: seq, time, varint(task), varint(arg)
//
// seq is varint(Seq - (the last frame's Seq + 1)) and time varint(Time -
// the last frame's Time), both wrapping, over every EV and SM frame of the
// log so far: on a live stream both are small. The frames' wire bytes are
// what wire.AppendEvent and wire.AppendSummary make of the decoded fields,
// which is how the source would have sent them; the Reader hands out those
// bytes, so a log reads the same whichever way its chunks were stored.
const (
	tagLine = iota
	tagSummary
	tagEvent // + the event's kind
)

// frameCodec is the state a frame's encoding is relative to: the Seq and
// Time of the log's last EV or SM frame.
type frameCodec struct {
	seq  uint32
	time uint64
}

// append encodes fs (whose lines are in lines) onto dst.
func (c *frameCodec) append(dst []byte, fs []wire.SourceFrame, lines []byte) []byte {
	for i := range fs {
		f := &fs[i]
		switch {
		case f.Event:
			dst = binary.AppendUvarint(dst, tagEvent+uint64(f.Ev.Kind))
			dst = c.appendSeqTime(dst, f.Ev.Seq, f.Ev.Time)
			dst = binary.AppendVarint(dst, int64(f.Ev.Task))
			dst = binary.AppendVarint(dst, f.Ev.Arg)
		case f.Summary:
			dst = append(dst, tagSummary)
			dst = c.appendSeqTime(dst, f.Ev.Seq, f.Ev.Time)
			dst = binary.AppendVarint(dst, int64(f.Ev.Task))
			dst = binary.AppendUvarint(dst, uint64(f.Jobs))
			dst = binary.AppendVarint(dst, f.Ev.Arg)
			dst = binary.AppendUvarint(dst, uint64(f.Misses))
		default:
			dst = append(dst, tagLine)
			dst = binary.AppendUvarint(dst, uint64(f.N))
			dst = append(dst, lines[f.Off:f.Off+f.N]...)
		}
	}
	return dst
}

func (c *frameCodec) appendSeqTime(dst []byte, seq uint32, time uint64) []byte {
	dst = binary.AppendVarint(dst, int64(int32(seq-c.seq-1)))
	dst = binary.AppendVarint(dst, int64(time-c.time))
	c.seq, c.time = seq, time
	return dst
}

var errDamaged = errors.New("damaged frame chunk")

// frameDecoder reads one frame chunk.
type frameDecoder struct {
	c   *frameCodec
	src []byte
	err error
}

func (d *frameDecoder) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(d.src)
	if n <= 0 || v > max {
		d.err, d.src = errDamaged, nil
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *frameDecoder) varint(lo, hi int64) int64 {
	v, n := binary.Varint(d.src)
	if n <= 0 || v < lo || v > hi {
		d.err, d.src = errDamaged, nil
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *frameDecoder) seqTime() (uint32, uint64) {
	ds := d.varint(math.MinInt32, math.MaxInt32)
	dt := d.varint(math.MinInt64, math.MaxInt64)
	if d.err != nil {
		return 0, 0
	}
	d.c.seq += 1 + uint32(int32(ds))
	d.c.time += uint64(dt)
	return d.c.seq, d.c.time
}

// decode appends the wire bytes of the frame chunk src to dst.
func (c *frameCodec) decode(dst, src []byte) ([]byte, error) {
	d := frameDecoder{c: c, src: src}
	for len(d.src) > 0 && d.err == nil {
		tag := d.uvarint(tagEvent + math.MaxUint8)
		switch {
		case d.err != nil:
		case tag == tagLine:
			n := d.uvarint(math.MaxInt32)
			if n > uint64(len(d.src)) {
				d.err = errDamaged
				break
			}
			dst = append(dst, d.src[:n]...)
			d.src = d.src[n:]
		case tag == tagSummary:
			var s wire.Summary
			s.Seq, s.Time = d.seqTime()
			s.Task = int32(d.varint(math.MinInt32, math.MaxInt32))
			s.Jobs = uint32(d.uvarint(math.MaxUint32))
			s.MaxResp = d.varint(math.MinInt64, math.MaxInt64)
			s.Misses = uint32(d.uvarint(math.MaxUint32))
			if d.err == nil {
				dst = wire.AppendSummary(dst, s)
			}
		default:
			ev := wire.Event{Kind: wire.EventKind(tag - tagEvent)}
			ev.Seq, ev.Time = d.seqTime()
			ev.Task = int32(d.varint(math.MinInt32, math.MaxInt32))
			ev.Arg = d.varint(math.MinInt64, math.MaxInt64)
			if d.err == nil {
				dst = wire.AppendEvent(dst, ev)
			}
		}
	}
	return dst, d.err
}
