package conform_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/harness/conform"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// replay is a board that says data, whatever it is told, on a clock that
// jumps to the read deadline once data is used up.
type replay struct {
	data     []byte
	now      time.Time
	deadline time.Time
}

func (r *replay) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.deadline.IsZero() {
			return 0, os.ErrClosed
		}
		if r.deadline.After(r.now) {
			r.now = r.deadline
		}
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, r.data[:min(len(r.data), 7)]) // small pieces: frames split across reads
	r.data = r.data[n:]
	r.now = r.now.Add(time.Millisecond)
	return n, nil
}

func (r *replay) Write(p []byte) (int, error)       { return len(p), nil }
func (r *replay) Close() error                      { return nil }
func (r *replay) SetReadDeadline(t time.Time) error { r.deadline = t; return nil }
func (r *replay) Name() string                      { return "replay" }
func (r *replay) Now() time.Time                    { return r.now }

// FuzzConform: whatever bytes a board sends, the script ends, with one
// result per rule, and never panics.
func FuzzConform(f *testing.F) {
	var seed []byte
	seed = wire.AppendBoot(seed, wire.Boot{Name: "b", Version: "1", Build: "x", Reason: "POR", BootCount: 1})
	seed = wire.AppendTask(seed, wire.TaskInfo{Index: 0, Name: "t", Priority: 5, Period: 1000, Deadline: 1000})
	seed = wire.AppendTableEnd(seed, 1, 0)
	seed = wire.AppendAck(seed, 1000001)
	f.Add(seed)
	f.Add(append(seed, "$TE,0,0*0000\nconsole line\n$DN,5,1*0000\n"...))
	f.Add([]byte("$BT,b,1,x,WDT,2,0,2*0000\n$BX,0,1,WX*0000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, _ := conform.Run(context.Background(), &replay{data: data, now: time.Unix(0, 0)}, conform.Options{Timeout: 50 * time.Millisecond})
		if rep == nil || len(rep.Results) != len(conform.Rules) {
			t.Fatalf("report %+v", rep)
		}
	})
}
