package scripted

import (
	"bytes"
	"sort"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// Script is a Board written by hand: frames sent at fixed board times, and
// a function that answers commands. It runs no tasks.
type Script struct {
	// OnCommand, if not nil, answers each command the host sends, at board
	// time now: the frames it returns are sent at once.
	OnCommand func(now time.Duration, c wire.Command) [][]byte

	now   int64
	queue []timed
	ready []byte
	rx    []byte
}

type timed struct {
	at   int64
	data []byte
}

// Send queues data (whole frames or console lines, with their line ends)
// to be sent at board time at.
func (s *Script) Send(at time.Duration, data ...[]byte) {
	for _, d := range data {
		s.queue = append(s.queue, timed{at: int64(at), data: d})
	}
	sort.SliceStable(s.queue, func(i, j int) bool { return s.queue[i].at < s.queue[j].at })
}

// Now implements Board.
func (s *Script) Now() int64 { return s.now }

// NextEvent implements Board: the time of the next queued frame.
func (s *Script) NextEvent() (int64, bool) {
	if len(s.ready) > 0 {
		return s.now, true
	}
	if len(s.queue) == 0 {
		return 0, false
	}
	return max(s.queue[0].at, s.now), true
}

// AdvanceTo implements Board.
func (s *Script) AdvanceTo(t int64) {
	s.now = max(s.now, t)
	for len(s.queue) > 0 && s.queue[0].at <= s.now {
		s.ready = append(s.ready, s.queue[0].data...)
		s.queue = s.queue[1:]
	}
}

// Read implements Board.
func (s *Script) Read(p []byte) int {
	n := copy(p, s.ready)
	s.ready = s.ready[n:]
	return n
}

// Receive implements Board: each whole command line goes to OnCommand.
func (s *Script) Receive(p []byte) {
	eachLine(&s.rx, p, func(line []byte) {
		var f wire.Frame
		if wire.ParseFrame(bytes.TrimRight(line, "\r\n"), &f) != nil || !wire.IsCommand(f.Type) || s.OnCommand == nil {
			return
		}
		c, err := f.Command()
		if err != nil {
			return
		}
		for _, d := range s.OnCommand(time.Duration(s.now), c) {
			s.ready = append(s.ready, d...)
		}
	})
}
