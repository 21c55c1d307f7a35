package firmware

import (
	"fmt"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

func pathfinderBoard(t testing.TB, proto Protocol, seed uint64) (*Board, *rec) {
	t.Helper()
	p, err := Lookup("pathfinder")
	if err != nil {
		t.Fatal(err)
	}
	b, r := quietBoard(t, p, Config{Mutex: proto, Trace: 1, Seed: seed})
	boot(b)
	return b, r
}

// Task and lock indexes of the pathfinder profile.
const (
	pfSched, pfDist, pfAsiMet = 0, 1, 5
	pfBus                     = 0
	pfLoad                    = 6
)

var protocols = []Protocol{ProtoNone, ProtoInherit, ProtoCeiling}

func TestPathfinderQuiet(t *testing.T) {
	for _, proto := range protocols {
		for seed := uint64(1); seed <= 5; seed++ {
			b, r := pathfinderBoard(t, proto, seed)
			goRun(b, 60*time.Second)
			if n := r.count(evDM, anyTask); n != 0 {
				t.Errorf("%v seed %d: %d deadline misses without faults", proto, seed, n)
			}
			if b.wdts != 0 || r.count(evWX, anyTask) != 0 {
				t.Errorf("%v seed %d: watchdog reset without faults", proto, seed)
			}
			if r.dones != 1 {
				t.Errorf("%v seed %d: run did not end (%d DN)", proto, seed, r.dones)
			}
			if got := r.count(wire.EvEnd, pfDist); got != 480 {
				t.Errorf("%v seed %d: bc_dist finished %d jobs in 60 s, want 480", proto, seed, got)
			}
		}
	}
}

// Pathfinder fault plan (times after GO, repeated every second):
// a 20 ms lock hold on asi_met/bus at 50 ms (before asi_met takes the bus at
// 91 ms), and a 110 ms load burst at priority 5 released while asi_met
// holds the bus (any time in [91 ms, 91 ms + its stretched critical section
// of 23-26 ms); 95 ms below).
const (
	pfHoldAt    = 50 * ms
	pfHoldExtra = 20 * ms
	pfBurstPrio = 5
	pfBurstLen  = 110 * ms
)

func armInversion(b *Board, seconds int, burstAt time.Duration) {
	for k := range seconds {
		base := time.Duration(k) * time.Second
		sf(b, base+pfHoldAt, wire.FaultCmd{ID: uint32(2 * k), Kind: wire.FaultLockHold,
			Task: pfAsiMet, Lock: pfBus, Extra: uint64(pfHoldExtra / us)})
		sf(b, base+burstAt, wire.FaultCmd{ID: uint32(2*k + 1), Kind: wire.FaultLoadBurst,
			Priority: pfBurstPrio, Length: uint64(pfBurstLen / us)})
	}
}

func TestPathfinderInversion(t *testing.T) {
	for _, burstAt := range []time.Duration{92 * ms, 95 * ms, 100 * ms, 110 * ms} {
		for _, proto := range protocols {
			for seed := uint64(1); seed <= 20; seed++ {
				t.Run(fmt.Sprintf("%v/%v/%d", burstAt, proto, seed), func(t *testing.T) {
					b, r := pathfinderBoard(t, proto, seed)
					armInversion(b, 10, burstAt)
					goRun(b, 10*time.Second)
					dm, wx := r.count(evDM, pfDist), r.count(evWX, anyTask)
					if proto == ProtoNone {
						if dm == 0 || wx != 1 {
							t.Fatalf("no protocol: %d bc_dist misses, %d watchdog resets; want a miss and a reset", dm, wx)
						}
						return
					}
					if dm != 0 || wx != 0 || r.dones != 1 {
						t.Fatalf("%d bc_dist misses, %d watchdog resets, %d DN; want none, none, 1", dm, wx, r.dones)
					}
					if r.count(wire.EvFaultEnd, pfAsiMet) != 10 || r.count(wire.EvFaultEnd, pfLoad) != 10 {
						t.Fatalf("faults did not all take effect")
					}
				})
			}
		}
	}
}
