package qemu_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/qemu"
	"github.com/hilchaos/hilchaos/targets/targettest"
	"github.com/hilchaos/hilchaos/targets/wire"
)

func start(t *testing.T, variant string, icount int) *qemu.Target {
	t.Helper()
	tg, err := qemu.Start("qemu://mps2-an385?fw="+variant, qemu.Spec{Firmware: firmware(t, variant), Icount: icount})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Rig {
		tg := start(t, "inherit", 5)
		return targettest.Rig{Target: tg, Inject: tg.Inject}
	})
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		raw, err string
		icount   int
	}{
		{"qemu://mps2-an385?fw=a.elf", "", -1},
		{"qemu://mps2-an385?fw=a.elf&icount=5", "", 5},
		{"qemu://mps2-an386?fw=a.elf", "only", 0},
		{"qemu://mps2-an385", "fw=PATH.elf is required", 0},
		{"qemu://mps2-an385?fw=a.elf&icount=x", "icount", 0},
		{"qemu://mps2-an385?fw=a.elf&icount=11", "icount", 0},
		{"qemu://mps2-an385?fw=a.elf&speed=2", "unknown parameter", 0},
	} {
		u, _ := url.Parse(c.raw)
		s, err := qemu.ParseURL(u)
		if c.err == "" {
			if err != nil || s.Icount != c.icount || s.Firmware != "a.elf" {
				t.Errorf("%s: %+v, %v", c.raw, s, err)
			}
			continue
		}
		var ue *targets.URLError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want a URLError with %q", c.raw, err, c.err)
		}
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// a zombie (state Z) has exited; only its parent has not reaped it
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for range 200 {
		if !alive(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("qemu-system-arm (pid %d) still runs %s", pid, what)
}

// No QEMU outlives the target's Close.
func TestCloseStopsQEMU(t *testing.T) {
	tg := start(t, "inherit", 5)
	pid := tg.PID()
	if !alive(pid) {
		t.Fatalf("qemu (pid %d) is not running after Start", pid)
	}
	tg.Close()
	waitGone(t, pid, "after Close")
}

// No QEMU outlives a harness killed with SIGKILL: QEMU has the
// parent-death signal.
func TestSIGKILLedParentStopsQEMU(t *testing.T) {
	elf := firmware(t, "inherit")
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "HILCHAOS_QEMU_CHILD="+elf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pid ") {
		t.Fatalf("child: %q, %v", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil || !alive(pid) {
		t.Fatalf("child's qemu pid %q not running", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, pid, "after its parent was SIGKILLed")
}

var readers = map[targets.Target]*wire.Reader{}

// frames reads frames from tg until pred is true or the board falls silent.
func frames(t *testing.T, tg targets.Target, pred func(*wire.Frame) bool) {
	t.Helper()
	r := readers[tg]
	if r == nil {
		r = wire.NewReader(tg)
		readers[tg] = r
	}
	for {
		tg.SetReadDeadline(time.Now().Add(targettest.Patience))
		f, err := r.Next()
		if err != nil {
			t.Fatalf("reading %s: %v", tg.Name(), err)
		}
		if pred(f) {
			return
		}
	}
}

func send(t *testing.T, tg targets.Target, c wire.Command) {
	t.Helper()
	if _, err := tg.Write(wire.AppendCommand(nil, c)); err != nil {
		t.Fatal(err)
	}
}

// The watchdog reset is real: the firmware's WDT boot and QEMU's own
// WATCHDOG and RESET events agree.
func TestWatchdogWitnessed(t *testing.T) {
	tg := start(t, "none", 5)
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	// The Pathfinder moment: asi_met's critical section stretched, a
	// medium-priority burst preempting it.
	send(t, tg, wire.Command{Type: wire.TypeSchedule, ID: 1, At: 90000, Fault: wire.FaultCmd{ID: 1, Kind: wire.FaultLockHold, Task: 5, Lock: 0, Extra: 25000}})
	send(t, tg, wire.Command{Type: wire.TypeSchedule, ID: 2, At: 95000, Fault: wire.FaultCmd{ID: 2, Kind: wire.FaultLoadBurst, Priority: 5, Length: 110000}})
	send(t, tg, wire.Command{Type: wire.TypeStart, ID: 3, Duration: 2000000})
	var boot wire.Boot
	frames(t, tg, func(f *wire.Frame) bool {
		if f.Type != wire.TypeBoot {
			return false
		}
		boot, _ = f.Boot()
		return true
	})
	if boot.Reason != wire.ReasonWatchdog {
		t.Fatalf("reboot reason %q, want %q", boot.Reason, wire.ReasonWatchdog)
	}
	var w []targets.WitnessedReset
	for range 100 {
		if w = tg.WitnessedResets(); len(w) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(w) != 2 || w[0].Kind != "watchdog" || w[1].Kind != "reset" {
		t.Fatalf("QEMU witnessed %+v, want one watchdog then one reset", w)
	}
}

// A HardFault gives a crash frame whose PC the target symbolizes, with the
// ELF's DWARF, to the function that faulted. The CR fault exists only in
// the test build.
func TestCrashSymbolized(t *testing.T) {
	tg := start(t, "test", 5)
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	send(t, tg, wire.Command{Type: wire.TypeStart, ID: 1, Duration: 0})
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeAck })
	// FN 2: fault 7, kind CR, mode 0 (a read from an address with nothing behind it)
	line := "FN,2,7,CR,0"
	if _, err := tg.Write([]byte("$" + line + "*" + strings.ToUpper(strconv.FormatUint(uint64(wire.CRC16([]byte(line)))|0x10000, 16)[1:]) + "\n")); err != nil {
		t.Fatal(err)
	}
	var c wire.Crash
	frames(t, tg, func(f *wire.Frame) bool {
		if f.Type != wire.TypeCrash {
			return false
		}
		var err error
		if c, err = f.Crash(); err != nil {
			t.Fatal(err)
		}
		return true
	})
	fn, file, ln, ok := tg.Symbolize(uint64(c.PC))
	if !ok || fn != "crash_bus_read" || file != "firmware/mps2-an385/kernel.c" || ln == 0 {
		t.Errorf("PC %#x symbolized as %q %s:%d (%v), want crash_bus_read in firmware/mps2-an385/kernel.c", c.PC, fn, file, ln, ok)
	}
	if c.CFSR&(1<<9) == 0 { // BFSR.PRECISERR
		t.Errorf("CFSR %#x: want a precise bus fault", c.CFSR)
	}
	if fn, _, _, ok := tg.Symbolize(uint64(c.LR)); !ok || fn == "crash_bus_read" {
		t.Errorf("LR %#x symbolized as %q (%v), want its caller", c.LR, fn, ok)
	}
	var b wire.Boot
	frames(t, tg, func(f *wire.Frame) bool {
		if f.Type != wire.TypeBoot {
			return false
		}
		b, _ = f.Boot()
		return true
	})
	if b.Reason != "CRASH" || b.BootCount != 2 {
		t.Errorf("reboot after the crash: reason %q boot %d, want CRASH 2", b.Reason, b.BootCount)
	}
	// the other builds refuse the crash fault
	other := start(t, "none", 5)
	frames(t, other, func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	send(t, other, wire.Command{Type: wire.TypeStart, ID: 1})
	if _, err := other.Write([]byte("$" + line + "*" + strings.ToUpper(strconv.FormatUint(uint64(wire.CRC16([]byte(line)))|0x10000, 16)[1:]) + "\n")); err != nil {
		t.Fatal(err)
	}
	frames(t, other, func(f *wire.Frame) bool {
		if f.Type != wire.TypeNak {
			return false
		}
		if id, reason, _ := f.Nak(); id != 2 || reason != "bad_fault" {
			t.Errorf("NK %d %s, want NK 2 bad_fault", id, reason)
		}
		return true
	})
}

// rawCommand writes a command line the Go encoder does not know (the CR
// and IS fault kinds), with its CRC.
func rawCommand(t *testing.T, tg targets.Target, body string) {
	t.Helper()
	line := fmt.Sprintf("$%s*%04X\n", body, wire.CRC16([]byte(body)))
	if _, err := tg.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
}

// An irq-storm fault (IS,priority,period_us,length_us) pends the storm
// interrupt from the kernel's timer for its length: FB and FE come its
// length apart, with task -1, and the tasks go on meanwhile.
func TestIRQStorm(t *testing.T) {
	tg := start(t, "inherit", 5)
	frames(t, tg, func(f *wire.Frame) bool { return f.Type == wire.TypeTableEnd })
	rawCommand(t, tg, "SF,1,100000,4,IS,2,200,50000")
	send(t, tg, wire.Command{Type: wire.TypeStart, ID: 2, Duration: 400000})
	var goT, fb, fe uint64
	ends := 0
	frames(t, tg, func(f *wire.Frame) bool {
		if f.Type == wire.TypeNak {
			t.Fatalf("refused: %s", f.Line)
		}
		if f.Type != wire.TypeEvent {
			return f.Type == wire.TypeDone
		}
		ev, err := f.Event()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.Kind == wire.EvRun:
			goT = ev.Time
		case ev.Kind == wire.EvFaultBegin && ev.Arg == 4:
			fb = ev.Time
			if ev.Task != wire.NoTask {
				t.Errorf("storm FB on task %d, want -1", ev.Task)
			}
		case ev.Kind == wire.EvFaultEnd && ev.Arg == 4:
			fe = ev.Time
		case ev.Kind == wire.EvEnd && fb != 0 && fe == 0:
			ends++
		}
		return false
	})
	if fb == 0 || fe == 0 {
		t.Fatalf("storm FB at %d, FE at %d: want both", fb, fe)
	}
	if d := int64(fb-goT) - 100000; d < 0 || d > 100 {
		t.Errorf("storm began %d µs after GO, want 100000", fb-goT)
	}
	if d := int64(fe-fb) - 50000; d < 0 || d > 100 {
		t.Errorf("storm lasted %d µs, want 50000", fe-fb)
	}
	if ends == 0 {
		t.Errorf("no job ended during the storm")
	}
	// a malformed storm is refused
	rawCommand(t, tg, "FN,3,5,IS,9,200,50000")
	frames(t, tg, func(f *wire.Frame) bool {
		if f.Type != wire.TypeNak {
			return false
		}
		if id, r, _ := f.Nak(); id != 3 || (r != "bad_fault" && r != "idle") {
			t.Errorf("NK %d %s", id, r)
		}
		return true
	})
}
