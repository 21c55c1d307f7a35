package scripted_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/scripted"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// read collects frames until the deadline (virtual time) passes.
func read(t *testing.T, tg *scripted.Target, until time.Duration) []wire.Frame {
	t.Helper()
	if err := tg.SetReadDeadline(scripted.Epoch.Add(until)); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(tg)
	r.ReportConsole(true)
	var out []wire.Frame
	for {
		f, err := r.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		g := *f
		g.Line = append([]byte(nil), f.Line...)
		out = append(out, g)
	}
}

// A Script sends its frames at their times and answers commands with the
// test's function; the knobs apply to it as to the model.
func TestScriptWithKnobs(t *testing.T) {
	s := &scripted.Script{OnCommand: func(now time.Duration, c wire.Command) [][]byte {
		return [][]byte{wire.AppendAck(nil, c.ID)}
	}}
	s.Send(10*time.Millisecond, wire.AppendBoot(nil, wire.Boot{Name: "s", Version: "1", Build: "b", Reason: "POR", BootCount: 1, Uptime: 10000, Proto: 2}),
		wire.AppendTask(nil, wire.TaskInfo{Index: 0, Name: "t"}), wire.AppendTableEnd(nil, 1, 0), []byte("hello\n"))
	tg := scripted.New("scripted://test", s, scripted.Knobs{IgnoreFirst: true, DropTableEnd: true})
	fs := read(t, tg, 20*time.Millisecond)
	var types []string
	for _, f := range fs {
		types = append(types, f.Type.String())
	}
	if got := len(types); got != 3 || types[0] != "BT" || types[1] != "TK" || types[2] != "console" {
		t.Fatalf("frames %v, want BT TK console (TE dropped)", types)
	}
	ping := wire.AppendCommand(nil, wire.Command{Type: wire.TypePing, ID: 5})
	tg.Write(ping) // ignored: the first copy
	if fs := read(t, tg, 30*time.Millisecond); len(fs) != 0 {
		t.Fatalf("the first copy was answered: %v", fs)
	}
	tg.Write(ping)
	fs = read(t, tg, 40*time.Millisecond)
	if len(fs) != 1 || fs[0].Type != wire.TypeAck {
		t.Fatalf("the second copy: %v", fs)
	}
	if st := tg.Stats(); st.Ignored != 1 || st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// The URL names a built-in profile and the knobs; a typo is an error that
// names it.
func TestURL(t *testing.T) {
	tg, err := targets.Open("scripted://pathfinder?mutex=inherit&ignore_first=1&drop_task=2&reset_after=80ms&reason=BOR", targets.Options{Trace: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if _, ok := tg.(targets.Clock); !ok {
		t.Fatal("a scripted target owns its clock")
	}
	_, err = targets.Open("scripted://pathfinder?ignore_frist=1", targets.Options{})
	var ue *targets.URLError
	if !errors.As(err, &ue) || ue.Reason != `unknown parameter "ignore_frist"` {
		t.Fatalf("err %v", err)
	}
}
