package wire

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// intactSrc claims its bytes are intact (as the simulator does).
type intactSrc struct{ r io.Reader }

func (s *intactSrc) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *intactSrc) IntactSource() io.Reader    { return s }

// embedding inherits IntactSource but is not the source it names.
type embedding struct{ *intactSrc }

func readAll(t *testing.T, r *Reader) ([]Frame, []Event, Stats) {
	t.Helper()
	var fs []Frame
	var evs []Event
	for {
		f, err := r.Next()
		if err == io.EOF {
			return fs, evs, r.Stats()
		}
		if err != nil {
			t.Fatal(err)
		}
		c := *f
		c.Line = bytes.Clone(f.Line)
		for i := range c.Fields {
			c.Fields[i] = bytes.Clone(f.Fields[i])
		}
		fs = append(fs, c)
		if f.Type == TypeEvent {
			ev, err := f.Event()
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
}

// A Reader on an intact source returns exactly what a checking Reader
// returns for an encoder's output, a frame cut short by a lost tail included.
func TestReaderIntactSameFrames(t *testing.T) {
	var s []byte
	for i := range 300 {
		ev := Event{Seq: uint32(i), Time: uint64(i) * 977, Kind: EventKind(1 + i%int(numEventKinds-1)), Task: int32(i%7) - 1, Arg: int64(i*i) - 500}
		s = AppendEvent(s, ev)
		if i == 150 {
			s = s[:len(s)-9] // a power cut loses the tail
		}
	}
	s = AppendDone(s, 300, 1e9)
	if !intact(&intactSrc{bytes.NewReader(s)}) {
		t.Fatal("intactSrc is not trusted")
	}
	wantF, wantE, wantS := readAll(t, NewReader(bytes.NewReader(s)))
	gotF, gotE, gotS := readAll(t, NewReader(&intactSrc{bytes.NewReader(s)}))
	if len(wantE) != 299 || !reflect.DeepEqual(gotE, wantE) || !reflect.DeepEqual(gotF, wantF) || gotS != wantS {
		t.Fatalf("intact reader differs: %d/%d events, stats %+v vs %+v", len(gotE), len(wantE), gotS, wantS)
	}
}

// A wrapper that embeds an intact source (and so has its method) is not
// trusted: a corrupted frame it splices in is still caught.
func TestReaderIntactNotInherited(t *testing.T) {
	bad := []byte("$EV,1,2,RL*0000\n")
	r := NewReader(embedding{&intactSrc{bytes.NewReader(bad)}})
	_, evs, st := readAll(t, r)
	if len(evs) != 0 || st.BadCRC != 1 {
		t.Fatalf("events %v, BadCRC %d: the embedding wrapper was trusted", evs, st.BadCRC)
	}
	// The same bytes from the source itself are not checked (it promised
	// they cannot be wrong), which is what makes the wrapper rule matter.
	_, evs, _ = readAll(t, NewReader(&intactSrc{bytes.NewReader(bad)}))
	if len(evs) != 1 {
		t.Fatalf("intact source: %d events, want the unchecked 1", len(evs))
	}
}
