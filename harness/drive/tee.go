package drive

import (
	"io"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// tee is io.TeeReader that passes on its source's wire.Intact: copying
// the bytes to the raw log changes none of them, so a Reader on a tee of
// an intact source (the simulator with --out) may skip the CRC checks the
// source itself would let it skip.
type tee struct {
	r      io.Reader
	w      io.Writer
	intact bool
}

func newTee(r io.Reader, w io.Writer) io.Reader {
	i, ok := r.(wire.Intact)
	t := &tee{r: r, w: w, intact: ok && i.IntactSource() == r}
	if fs, ok := r.(wire.FrameSource); ok && t.intact {
		return &frameTee{tee: t, src: fs}
	}
	return t
}

// Read is io.TeeReader's Read.
func (t *tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if n, err := t.w.Write(p[:n]); err != nil {
			return n, err
		}
	}
	return n, err
}

// IntactSource returns t when its source is intact, nil otherwise.
func (t *tee) IntactSource() io.Reader {
	if t.intact {
		return t
	}
	return nil
}

// frameTee is a tee of a wire.FrameSource, and one itself: the Reader
// takes the frames decoded, and the raw log gets the bytes Read would
// have returned, as one chunk, encoded once for it (by the log itself
// when it can).
type frameTee struct {
	*tee
	src wire.FrameSource
	buf []byte
}

// framesWriter is a raw log that takes frames and encodes them itself
// (tracelog.Writer, on its compressor's goroutine).
type framesWriter interface {
	WriteFrames(fs *wire.Frames, n int)
}

// ReadFrames implements wire.FrameSource.
func (t *frameTee) ReadFrames(fs *wire.Frames, max int) (int, error) {
	n, err := t.src.ReadFrames(fs, max)
	if n > 0 {
		if fw, ok := t.w.(framesWriter); ok {
			fw.WriteFrames(fs, n)
			return n, err
		}
		t.buf = fs.AppendWire(t.buf[:0])
		if _, err := t.w.Write(t.buf); err != nil {
			return n, err
		}
	}
	return n, err
}

// IntactSource returns t: its source is intact (newTee makes a frameTee
// only of one).
func (t *frameTee) IntactSource() io.Reader { return t }
