package wire

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// EventLen is the length of AppendEvent's frame, and PutEvent writes that
// frame, for events of every shape: no task, no argument, negative and
// extreme numbers.
func TestEventLenAndPutEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []Event{
		{Kind: EvRun, Task: NoTask},
		{Seq: math.MaxUint32, Time: math.MaxUint64, Kind: EvLock, Task: math.MinInt32, Arg: math.MinInt64},
		{Seq: 9, Time: 10, Kind: EvEnd, Task: math.MaxInt32, Arg: math.MaxInt64},
		{Kind: EvInvalid, Task: 0},
		{Kind: EvDropped, Task: NoTask, Arg: -1},
	}
	for i := 0; i < 20000; i++ {
		ev := Event{Seq: rng.Uint32() >> rng.UintN(32), Time: rng.Uint64() >> rng.UintN(64), Kind: EventKind(rng.UintN(uint(numEventKinds) + 2)),
			Task: int32(rng.Int64N(1<<33) - 1<<32), Arg: int64(rng.Uint64()) >> rng.UintN(64)}
		switch rng.IntN(4) {
		case 0:
			ev.Task = NoTask
		case 1:
			ev.Arg = 0
		}
		edges = append(edges, ev)
	}
	p := make([]byte, maxEventLen+10)
	for _, ev := range edges {
		want := AppendEvent(nil, ev)
		require.Equal(t, len(want), EventLen(ev), "%+v", ev)
		n := PutEvent(p, ev)
		require.Equal(t, string(want), string(p[:n]), "%+v", ev)
	}
	assert.Zero(t, PutEvent(make([]byte, maxEventLen-1), edges[0]), "no room for the longest frame: nothing written")

	for i := 0; i < 20000; i++ {
		s := Summary{Seq: rng.Uint32() >> rng.UintN(32), Time: rng.Uint64() >> rng.UintN(64), Task: int32(rng.Int64N(1<<33) - 1<<32),
			Jobs: rng.Uint32() >> rng.UintN(32), MaxResp: int64(rng.Uint64()) >> rng.UintN(64), Misses: rng.Uint32() >> rng.UintN(32)}
		want := AppendSummary(nil, s)
		require.Equal(t, len(want), SummaryLen(s), "%+v", s)
		sf := SummaryFrame(s)
		fs := Frames{List: []SourceFrame{sf}}
		require.Equal(t, string(want), string(fs.AppendWire(nil)), "%+v", s)
	}
}

// script is a FrameSource that hands over prepared batches.
type script struct {
	batches []func(fs *Frames) (int, error)
}

func (s *script) Read([]byte) (int, error) { return 0, errors.New("read as bytes") }
func (s *script) IntactSource() io.Reader  { return s }
func (s *script) ReadFrames(fs *Frames, max int) (int, error) {
	if len(s.batches) == 0 {
		return 0, io.EOF
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	return b(fs)
}

// A Reader on a FrameSource returns its events as EV frames, parses its
// other frames, counts a line that is no frame as malformed, hands over
// frames that came with an error before the error, and counts bytes.
func TestReaderOnAFrameSource(t *testing.T) {
	ev := Event{Seq: 4, Time: 1000, Kind: EvLock, Task: 2, Arg: 0}
	ack := AppendAck(nil, 7)
	sum := Summary{Seq: 9, Time: 5000, Task: 3, Jobs: 12, MaxResp: -1, Misses: 2}
	src := &script{batches: []func(fs *Frames) (int, error){
		func(fs *Frames) (int, error) {
			fs.AddEvent(ev, EventLen(ev))
			fs.AddLine(ack)
			fs.AddLine([]byte("$XX,garbage*0000\n"))
			return EventLen(ev) + len(ack) + 17, nil
		},
		func(fs *Frames) (int, error) { return 0, nil },
		func(fs *Frames) (int, error) {
			fs.AddSummary(sum)
			return int(fs.List[0].N), nil
		},
		func(fs *Frames) (int, error) {
			fs.AddEvent(Event{Seq: 5, Time: 1001, Kind: EvRun, Task: NoTask}, 20)
			return 20, errors.New("link gone")
		},
	}}
	r := NewReader(src)
	f, err := r.Next()
	require.NoError(t, err)
	got, err := f.Event()
	require.NoError(t, err)
	assert.Equal(t, ev, got)
	assert.Equal(t, 4, f.NField, "seq, time, kind and task")
	f, err = r.Next()
	require.NoError(t, err)
	id, err := f.Ack()
	require.NoError(t, err)
	assert.Equal(t, uint32(7), id)
	f, err = r.Next()
	require.NoError(t, err, "the malformed line is skipped, an empty batch is waited out")
	assert.Equal(t, TypeSummary, f.Type)
	gotSum, err := f.Summary()
	require.NoError(t, err)
	assert.Equal(t, sum, gotSum)
	_, err = f.Event()
	assert.ErrorIs(t, err, ErrWrongType, "a summary is no event")
	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, TypeEvent, f.Type)
	_, err = r.Next()
	assert.ErrorContains(t, err, "link gone")
	st := r.Stats()
	assert.Equal(t, uint64(4), st.Frames)
	assert.Equal(t, uint64(1), st.Malformed)
	assert.Equal(t, uint64(EventLen(ev)+len(ack)+17+SummaryLen(sum)+20), st.Bytes)

	// A wrapper around a FrameSource is neither intact nor one.
	w := struct{ *script }{&script{}}
	assert.Nil(t, frameSource(w))
}
