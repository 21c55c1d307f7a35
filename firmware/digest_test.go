package firmware

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// scheduleDigest drives 200 boards through random sessions: mutex
// protocol, trace level, baud rate, transmit buffer and seed drawn at
// random, every other board with its tasks' deadlines and periods changed
// (deadlines shorter than, equal to and longer than the period); each
// session has three runs with random lock holds, load bursts and irq
// storms, and host commands at random moments between them (FN, SP, PG,
// RS, DP). It returns a SHA-256 of every event and summary the board's
// hooks saw, with the board time of each, and of its counters.
func scheduleDigest(t *testing.T) string {
	t.Helper()
	p, err := Lookup("pathfinder")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var w [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(w[:], v)
		h.Write(w[:])
	}
	buf := make([]byte, 1<<16)
	for sc := range 200 {
		r := rand.New(rand.NewPCG(uint64(sc), 42))
		cfg := Config{Mutex: Protocol(r.IntN(3)), Trace: r.IntN(3), Seed: r.Uint64(),
			Baud: []int{0, 921600, 115200, 19200}[r.IntN(4)], TxBuffer: []int{0, 512, 1 << 16}[r.IntN(3)]}
		pp := p
		if sc%2 == 1 {
			pp = p.clone()
			for i := range pp.Tasks {
				tk := &pp.Tasks[i]
				switch r.IntN(4) {
				case 0:
					tk.Deadline = tk.Period / 2
				case 1:
					tk.Deadline = tk.Period * 2
				case 2:
					tk.Deadline = 0
				}
				if r.IntN(3) == 0 {
					tk.Period /= 2
				}
			}
		}
		b, err := NewBoard(pp, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b.hook = func(e wire.Event) {
			put(uint64(b.Now()))
			put(uint64(e.Seq))
			put(e.Time)
			put(uint64(e.Kind))
			put(uint64(e.Task))
			put(uint64(e.Arg))
		}
		b.smHook = func(s wire.Summary) {
			put(uint64(b.Now()))
			fmt.Fprintf(h, "%+v", s)
		}
		id := uint32(0)
		send := func(c wire.Command) {
			id++
			c.ID = id
			b.Receive(wire.AppendCommand(nil, c))
		}
		drain := func(until int64) {
			for {
				n, ok := b.NextEvent()
				if !ok || n > until {
					break
				}
				b.AdvanceTo(n)
				b.Read(buf)
			}
			b.AdvanceTo(until)
			b.Read(buf)
		}
		drain(b.Now() + 100e6)
		for range 3 {
			dur := uint64(2_000_000 + r.IntN(20_000_000))
			for k := range 5 + r.IntN(30) {
				at := uint64(r.IntN(int(dur)))
				var fc wire.FaultCmd
				switch r.IntN(3) {
				case 0:
					fc = wire.FaultCmd{ID: uint32(k + 1), Kind: wire.FaultLoadBurst, Priority: 1 + r.IntN(12), Length: uint64(1000 + r.IntN(150000))}
				case 1:
					fc = wire.FaultCmd{ID: uint32(k + 1), Kind: wire.FaultLockHold, Task: []int{1, 5}[r.IntN(2)], Lock: 0, Extra: uint64(1000 + r.IntN(200000))}
				case 2:
					fc = wire.FaultCmd{ID: uint32(k + 1), Kind: wire.FaultIRQStorm, Priority: r.IntN(8), Period: uint64(25 + r.IntN(200)), Length: uint64(1000 + r.IntN(300000))}
				}
				send(wire.Command{Type: wire.TypeSchedule, At: at, Fault: fc})
			}
			send(wire.Command{Type: wire.TypeStart, Duration: dur})
			end := b.Now() + int64(dur)*1000 + 300e6
			for b.Now() < end {
				drain(b.Now() + int64(r.IntN(700e6)))
				switch r.IntN(12) {
				case 0:
					send(wire.Command{Type: wire.TypeFire, Fault: wire.FaultCmd{ID: 900, Kind: wire.FaultLoadBurst, Priority: 7, Length: 50000}})
				case 1:
					send(wire.Command{Type: wire.TypeStop})
				case 2:
					send(wire.Command{Type: wire.TypePing})
				case 3:
					if r.IntN(4) == 0 {
						send(wire.Command{Type: wire.TypeReset})
					}
				case 4:
					send(wire.Command{Type: wire.TypeDump})
				}
			}
		}
		put(b.events)
		put(b.misses)
		put(b.wdts)
		put(uint64(b.Now()))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestScheduleDigest pins the model's behaviour, event by event and
// nanosecond by nanosecond, over many random sessions (scheduleDigest):
// a change meant to make the kernel cheaper (the timer heap, the
// scheduler) must not change one event, its order or its time. The
// digest was taken from the kernel before the release timers were
// merged with their deadlines. A change that means to alter the model's
// behaviour updates it, and says why.
func TestScheduleDigest(t *testing.T) {
	const want = "0c06faa92f4b815d0c3bb66a4b47c75c911d13824a10c9d3f99a4fc0f052fd68"
	if got := scheduleDigest(t); got != want {
		t.Fatalf("schedule digest %s, want %s: the model's events, their order or their times changed", got, want)
	}
}
