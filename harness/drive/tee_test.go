package drive

import (
	"bytes"
	"io"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

type intactSrc struct{ r io.Reader }

func (s *intactSrc) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *intactSrc) IntactSource() io.Reader    { return s }

// The raw-log tee copies every byte and passes on its source's claim to
// be intact, and only a true one.
func TestTeeKeepsIntact(t *testing.T) {
	var log bytes.Buffer
	tr := newTee(&intactSrc{bytes.NewReader([]byte("abc"))}, &log)
	if tr.(wire.Intact).IntactSource() != tr {
		t.Error("tee of an intact source is not intact")
	}
	if b, _ := io.ReadAll(tr); string(b) != "abc" || log.String() != "abc" {
		t.Errorf("read %q, logged %q", b, log.String())
	}
	if newTee(bytes.NewReader(nil), &log).(wire.Intact).IntactSource() != nil {
		t.Error("tee of a plain reader claims to be intact")
	}
}
