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

func newTee(r io.Reader, w io.Writer) *tee {
	i, ok := r.(wire.Intact)
	return &tee{r: r, w: w, intact: ok && i.IntactSource() == r}
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
