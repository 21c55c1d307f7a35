package gotest_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

var (
	buildOnce sync.Once
	hostBin   string
	buildErr  error
)

// host builds the agent and its host port with gcc, once.
func host(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hc-host-")
		if err != nil {
			buildErr = err
			return
		}
		hostBin = filepath.Join(dir, "hc_host")
		out, err := exec.Command("gcc", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-O1", "-Wall", "-Wextra", "-Werror",
			"-DHC_NOINIT=", "-I..", "../hc_agent.c", "../host/hc_host.c", "-o", hostBin).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("gcc: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return hostBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostBin != "" {
		os.RemoveAll(filepath.Dir(hostBin))
	}
	os.Exit(code)
}

// run feeds the script to the host agent; stdout is the board's line,
// stderr the application's log.
func run(t testing.TB, script string) (out []byte, log string) {
	t.Helper()
	cmd := exec.Command(host(t))
	cmd.Stdin = strings.NewReader(script)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("hc_host: %v\n%s", err, e.String())
	}
	return o.Bytes(), e.String()
}

// cmdLine is a script line sending a host command.
func cmdLine(c wire.Command) string {
	return "X " + hex.EncodeToString(wire.AppendCommand(nil, c)) + "\n"
}

// banner is what the host agent sends at boot.
func banner(reason string, boot uint32, uptime uint64) []byte {
	b := wire.AppendBoot(nil, wire.Boot{Name: "host-agent", Version: "1.0", Build: "0123abcd", Reason: reason, BootCount: boot, Uptime: uptime, Proto: wire.ProtoV2})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 0, Name: "hi", Priority: 10, Period: 1000, Deadline: 1000, WCET: 100})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 1, Name: "lo_prio_", Priority: 1, Period: 5000, Deadline: 4000, Offset: 10, WCET: 200})
	b = wire.AppendLock(b, wire.LockInfo{Index: 0, Name: "bus", Protocol: "inherit", Ceiling: 10})
	return wire.AppendTableEnd(b, 2, 1)
}

// The trace level at which each event kind is sent (docs/PROTOCOL.md).
var level = map[wire.EventKind]int{
	wire.EvRelease: 1, wire.EvStart: 2, wire.EvEnd: 1, wire.EvBlock: 1, wire.EvLock: 1,
	wire.EvUnlock: 1, wire.EvSwitch: 2, wire.EvDeadlineMiss: 0, wire.EvWatchdogKick: 1,
	wire.EvWatchdogExpiry: 0, wire.EvFaultBegin: 0, wire.EvFaultEnd: 0, wire.EvDropped: 0,
	wire.EvPriority: 2, wire.EvRun: 0,
}

// Random events, summaries and commands: the agent's output is, byte for
// byte, what the Go encoder writes for the same frames, and the Go decoder
// reads every one of them back.
func TestEncoderRoundTrip(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 42))
			var script strings.Builder
			want := banner("POR", 1, 0)
			var seq uint32
			trace := 1
			var now uint64
			var wantLog strings.Builder
			for i := range 3000 {
				now += r.Uint64N(1 << uint(r.IntN(40)))
				now %= 1 << 53
				fmt.Fprintf(&script, "T %d\n", now)
				switch x := r.IntN(20); {
				case x < 14:
					k := wire.EventKind(1 + r.IntN(15))
					task := int32(r.IntN(600) - 300)
					if r.IntN(4) == 0 {
						task = -1
					}
					arg := r.Int64() >> uint(r.IntN(64))
					if r.IntN(2) == 0 {
						arg = -arg
					}
					if r.IntN(5) == 0 {
						arg = 0
					}
					fmt.Fprintf(&script, "E %d %d %d\n", k, task, arg)
					if level[k] <= trace {
						want = wire.AppendEvent(want, wire.Event{Seq: seq, Time: now, Kind: k, Task: task, Arg: arg})
						seq++
					}
				case x < 15:
					s := wire.Summary{Seq: seq, Time: now, Task: int32(r.IntN(300)), Jobs: r.Uint32(), MaxResp: int64(r.Uint32()), Misses: r.Uint32()}
					fmt.Fprintf(&script, "S %d %d %d %d\n", s.Task, s.Jobs, s.MaxResp, s.Misses)
					want = wire.AppendSummary(want, s)
					seq++
				case x < 16:
					lv := r.IntN(3)
					id := uint32(i)
					script.WriteString(cmdLine(wire.Command{Type: wire.TypeConfig, ID: id, Key: "trace", Value: fmt.Sprint(lv)}))
					want = wire.AppendAck(want, id)
					trace = lv
				case x < 17:
					id := r.Uint32()
					script.WriteString(cmdLine(wire.Command{Type: wire.TypeConfig, ID: id, Key: "speed", Value: "max"}))
					want = wire.AppendNak(want, id, "bad_key")
				case x < 18:
					c := wire.Command{Type: wire.TypeSchedule, ID: uint32(i) + 1<<20, At: r.Uint64N(1 << 50),
						Fault: wire.FaultCmd{ID: r.Uint32(), Kind: wire.FaultLoadBurst, Priority: r.IntN(300), Length: 1 + r.Uint64N(1<<30)}}
					if r.IntN(2) == 0 {
						c.Fault = wire.FaultCmd{ID: r.Uint32(), Kind: wire.FaultLockHold, Task: r.IntN(3), Lock: 0, Extra: 1 + r.Uint64N(1<<30)}
					}
					script.WriteString(cmdLine(c))
					if c.Fault.Kind == wire.FaultLockHold && c.Fault.Task > 1 {
						want = wire.AppendNak(want, c.ID, "bad_task")
					} else {
						want = wire.AppendAck(want, c.ID)
						kind := 1
						if c.Fault.Kind == wire.FaultLockHold {
							kind = 2
						}
						fmt.Fprintf(&wantLog, "fault %d %d %d\n", c.Fault.ID, kind, c.At)
					}
				case x < 19:
					id := uint32(i) + 2<<20
					script.WriteString(cmdLine(wire.Command{Type: wire.TypeFire, ID: id, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLoadBurst, Priority: 3, Length: 10}}))
					want = wire.AppendNak(want, id, "idle")
				default:
					id := uint32(i) + 3<<20
					script.WriteString(cmdLine(wire.Command{Type: wire.TypePing, ID: id}))
					want = wire.AppendAck(want, id)
				}
			}
			out, log := run(t, script.String())
			if !bytes.Equal(out, want) {
				i := 0
				for i < len(out) && i < len(want) && out[i] == want[i] {
					i++
				}
				lo := max(0, i-80)
				t.Fatalf("output differs at byte %d:\n got  %q\n want %q", i, out[lo:min(len(out), i+80)], want[lo:min(len(want), i+80)])
			}
			if log != wantLog.String() {
				t.Errorf("application log:\n%s\nwant:\n%s", log, wantLog.String())
			}
			rd := wire.NewReader(bytes.NewReader(out))
			n := 0
			for {
				f, err := rd.Next()
				if err != nil {
					break
				}
				n++
				if f.Type == wire.TypeEvent {
					if _, err := f.Event(); err != nil {
						t.Fatalf("%q: %v", f.Line, err)
					}
				}
			}
			if st := rd.Stats(); st.BadCRC+st.Malformed+st.TooLong+st.Truncated+st.GarbageBytes != 0 {
				t.Errorf("decoder counted problems: %+v", st)
			}
			if n < 1000 {
				t.Errorf("only %d frames", n)
			}
		})
	}
}

// frames decodes out; the decoder must count no problem.
func frames(t testing.TB, out []byte) []wire.Frame {
	t.Helper()
	rd := wire.NewReader(bytes.NewReader(out))
	var fs []wire.Frame
	for {
		f, err := rd.Next()
		if err != nil {
			break
		}
		g := *f
		g.Line = append([]byte(nil), f.Line...)
		// re-parse the copy so its fields point into it
		if err := wire.ParseFrame(append(g.Line, '\n'), &g); err != nil {
			t.Fatalf("%q: %v", f.Line, err)
		}
		fs = append(fs, g)
	}
	if st := rd.Stats(); st.BadCRC+st.Malformed+st.TooLong+st.Truncated+st.GarbageBytes != 0 {
		t.Fatalf("decoder counted problems: %+v in %q", st, out)
	}
	return fs
}

// A full transmit ring drops events without numbering them; the next DR
// event carries the count, and sequence numbers have no gap.
func TestDropsReported(t *testing.T) {
	var script strings.Builder
	script.WriteString("T 1000000\nH\n")
	const n = 1000 // about 30 bytes each: more than the 16 KiB ring
	for range n {
		script.WriteString("E 1 3 12345\n")
	}
	script.WriteString("F\nE 3 3 99\n")
	out, _ := run(t, script.String())
	var evs []wire.Event
	for _, f := range frames(t, out) {
		if f.Type == wire.TypeEvent {
			ev, err := f.Event()
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
	kept := len(evs) - 2
	if kept <= 0 || kept >= n {
		t.Fatalf("kept %d of %d events while held", kept, n)
	}
	dr, last := evs[len(evs)-2], evs[len(evs)-1]
	if dr.Kind != wire.EvDropped || dr.Arg != int64(n-kept) || dr.Seq != uint32(kept) {
		t.Errorf("DR event %+v, want arg %d seq %d", dr, n-kept, kept)
	}
	if last.Kind != wire.EvEnd || last.Seq != uint32(kept+1) || last.Arg != 99 {
		t.Errorf("last event %+v", last)
	}
	for i, ev := range evs[:kept] {
		if ev.Seq != uint32(i) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
}

// A repeated command id (a host retry) gets its first answer again and is
// not carried out twice; a new id is.
func TestIdempotentIDs(t *testing.T) {
	goCmd := cmdLine(wire.Command{Type: wire.TypeStart, ID: 5, Duration: 1000})
	sf := cmdLine(wire.Command{Type: wire.TypeSchedule, ID: 6, At: 10, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLoadBurst, Priority: 2, Length: 3}})
	cf := cmdLine(wire.Command{Type: wire.TypeConfig, ID: 7, Key: "trace", Value: "2"})
	out, log := run(t, sf+sf+goCmd+goCmd+cf+cf+cmdLine(wire.Command{Type: wire.TypeStart, ID: 8, Duration: 1000}))
	var answers []string
	for _, f := range frames(t, out) {
		switch f.Type {
		case wire.TypeAck:
			id, _ := f.Ack()
			answers = append(answers, fmt.Sprint("AK ", id))
		case wire.TypeNak:
			id, r, _ := f.Nak()
			answers = append(answers, fmt.Sprint("NK ", id, " ", r))
		}
	}
	want := []string{"AK 6", "AK 6", "AK 5", "AK 5", "NK 7 busy", "NK 7 busy", "NK 8 busy"}
	if fmt.Sprint(answers) != fmt.Sprint(want) {
		t.Errorf("answers %v, want %v", answers, want)
	}
	if log != "fault 1 1 10\ngo 1000\n" {
		t.Errorf("application log %q: each command carried out once", log)
	}
}

// The black box survives a software reset: after RS the board boots with
// reason SW and boot count 2, and DP replays the last 64 events of level
// 0-1 recorded before the reset, oldest first, then AK.
func TestBlackBoxAcrossReset(t *testing.T) {
	var script strings.Builder
	var want []wire.Event
	for i := range 100 {
		fmt.Fprintf(&script, "T %d\n", 1000+i)
		k := wire.EvRelease
		if i%3 == 0 {
			k = wire.EvSwitch // level 2: not in the black box
		} else {
			want = append(want, wire.Event{Time: uint64(1000 + i), Kind: k, Task: int32(i % 7), Arg: int64(i)})
		}
		fmt.Fprintf(&script, "E %d %d %d\n", k, i%7, i)
	}
	want = want[len(want)-64:]
	for i := range want {
		want[i].Seq = uint32(i)
	}
	script.WriteString("T 5000\n" + cmdLine(wire.Command{Type: wire.TypeReset, ID: 9}) + cmdLine(wire.Command{Type: wire.TypeDump, ID: 10}))
	out, log := run(t, script.String())
	if log != "reset\n" {
		t.Errorf("application log %q", log)
	}
	var boots []wire.Boot
	var box []wire.Event
	acked := false
	for _, f := range frames(t, out) {
		switch f.Type {
		case wire.TypeBoot:
			b, _ := f.Boot()
			boots = append(boots, b)
		case wire.TypeBlackBox:
			if acked {
				t.Fatal("BX after the AK of DP")
			}
			ev, err := f.Event()
			if err != nil {
				t.Fatal(err)
			}
			box = append(box, ev)
		case wire.TypeAck:
			if id, _ := f.Ack(); id == 10 {
				acked = true
			}
		}
	}
	if len(boots) != 2 || boots[1].Reason != wire.ReasonSoftware || boots[1].BootCount != 2 {
		t.Fatalf("boots %+v, want POR 1 then SW 2", boots)
	}
	if !acked || fmt.Sprint(box) != fmt.Sprint(want) {
		t.Errorf("black box (acked %v):\n got  %v\n want %v", acked, box, want)
	}
}

// Whatever bytes the host sends, the board's output stays well-formed:
// every frame it sends has a good CRC and decodes.
func FuzzAgentInput(f *testing.F) {
	for _, c := range []wire.Command{
		{Type: wire.TypePing, ID: 1},
		{Type: wire.TypeStart, ID: 2, Duration: 5},
		{Type: wire.TypeSchedule, ID: 3, At: 7, Fault: wire.FaultCmd{ID: 4, Kind: wire.FaultLockHold, Task: 1, Lock: 0, Extra: 9}},
		{Type: wire.TypeReset, ID: 5},
		{Type: wire.TypeDump, ID: 6},
		{Type: wire.TypeConfig, ID: 7, Key: "mutex", Value: "ceiling"},
	} {
		f.Add(wire.AppendCommand(nil, c))
	}
	f.Add([]byte("$FN,2,7,CR,0*0000\n$SF,1,2,3,IS,4,5,6*1234\n\x00$$$\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		out, _ := run(t, "E 1 2 3\nX "+hex.EncodeToString(in)+"\nE 3 2 4\n")
		for _, fr := range frames(t, out) {
			switch fr.Type {
			case wire.TypeEvent:
				if _, err := fr.Event(); err != nil {
					t.Fatalf("%q: %v", fr.Line, err)
				}
			case wire.TypeBlackBox:
				if _, err := fr.Event(); err != nil {
					t.Fatalf("%q: %v", fr.Line, err)
				}
			case wire.TypeBoot:
				if _, err := fr.Boot(); err != nil {
					t.Fatalf("%q: %v", fr.Line, err)
				}
			case wire.TypeAck:
				if _, err := fr.Ack(); err != nil {
					t.Fatalf("%q: %v", fr.Line, err)
				}
			case wire.TypeNak:
				if _, _, err := fr.Nak(); err != nil {
					t.Fatalf("%q: %v", fr.Line, err)
				}
			}
			if wire.IsCommand(fr.Type) {
				t.Fatalf("the board sent a command frame %q", fr.Line)
			}
		}
	})
}

// Any event the firmware records comes out as the EV frame the Go encoder
// writes for it.
func FuzzAgentEvent(f *testing.F) {
	f.Add(uint8(1), int16(0), int64(0), uint64(0), uint8(2))
	f.Add(uint8(15), int16(-1), int64(-1<<63), uint64(1<<53), uint8(0))
	f.Fuzz(func(t *testing.T, kind uint8, task int16, arg int64, now uint64, trace uint8) {
		k := wire.EventKind(kind%15 + 1)
		lv := int(trace % 3)
		script := cmdLine(wire.Command{Type: wire.TypeConfig, ID: 1, Key: "trace", Value: fmt.Sprint(lv)}) +
			fmt.Sprintf("T %d\nE %d %d %d\n", now, k, task, arg)
		out, _ := run(t, script)
		want := wire.AppendAck(banner("POR", 1, 0), 1)
		if level[k] <= lv {
			want = wire.AppendEvent(want, wire.Event{Time: now, Kind: k, Task: int32(task), Arg: arg})
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("got %q\nwant %q", out, want)
		}
	})
}

// v2: ID is answered AK, then BT and the table again; after a run's DN the
// board repeats that DN before the AK of every new PG (a retried PG gets
// its remembered AK alone), until the next GO.
func TestIdentifyAndRepeatedDone(t *testing.T) {
	script := "T 100\n" + cmdLine(wire.Command{Type: wire.TypeIdentify, ID: 1}) +
		cmdLine(wire.Command{Type: wire.TypeStart, ID: 2, Duration: 50}) +
		"T 150\n" + cmdLine(wire.Command{Type: wire.TypeStop, ID: 3}) +
		"T 200\n" + cmdLine(wire.Command{Type: wire.TypePing, ID: 4}) + cmdLine(wire.Command{Type: wire.TypePing, ID: 4}) +
		cmdLine(wire.Command{Type: wire.TypePing, ID: 5}) +
		cmdLine(wire.Command{Type: wire.TypeStart, ID: 6, Duration: 50}) + cmdLine(wire.Command{Type: wire.TypePing, ID: 7})
	out, _ := run(t, script)
	want := banner("POR", 1, 0)
	want = wire.AppendAck(want, 1)
	want = append(want, banner("POR", 1, 100)...)
	want = wire.AppendAck(want, 2)
	want = wire.AppendEvent(want, wire.Event{Seq: 0, Time: 100, Kind: wire.EvRun, Task: -1, Arg: 50})
	want = wire.AppendDone(want, 1, 150)
	want = wire.AppendAck(want, 3)
	want = wire.AppendDone(want, 1, 150)
	want = wire.AppendAck(want, 4)
	want = wire.AppendAck(want, 4)
	want = wire.AppendDone(want, 1, 150)
	want = wire.AppendAck(want, 5)
	want = wire.AppendAck(want, 6)
	want = wire.AppendEvent(want, wire.Event{Seq: 1, Time: 200, Kind: wire.EvRun, Task: -1, Arg: 50})
	want = wire.AppendAck(want, 7)
	if !bytes.Equal(out, want) {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
