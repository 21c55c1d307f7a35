package qemu_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets/qemu"
)

// The firmware is built once per test binary, with Debian's arm-none-eabi
// gcc (installed by .ci/setup), into a temporary directory. A missing
// toolchain or QEMU fails the tests: they are not skipped.
var (
	fwOnce sync.Once
	fwDir  string
	fwErr  error
)

func firmware(t testing.TB, variant string) string {
	t.Helper()
	fwOnce.Do(func() {
		fwDir, fwErr = os.MkdirTemp("", "hilchaos-fw-")
		if fwErr != nil {
			return
		}
		out, err := exec.Command("make", "-s", "-C", "../../firmware/mps2-an385", "BUILD="+fwDir).CombinedOutput()
		if err != nil {
			fwErr = fmt.Errorf("make firmware (needs gcc-arm-none-eabi; run .ci/setup): %v\n%s", err, out)
		}
	})
	if fwErr != nil {
		t.Fatal(fwErr)
	}
	if _, err := exec.LookPath(qemu.Binary); err != nil {
		t.Fatalf("%s is missing (run .ci/setup): %v", qemu.Binary, err)
	}
	return filepath.Join(fwDir, "pathfinder-"+variant+".elf")
}

func TestMain(m *testing.M) {
	if elf := os.Getenv("HILCHAOS_QEMU_CHILD"); elf != "" {
		child(elf)
		return
	}
	code := m.Run()
	if fwDir != "" {
		os.RemoveAll(fwDir)
	}
	os.Exit(code)
}

// child is the process the SIGKILL test kills: it starts QEMU, says its
// pid, and waits to be killed.
func child(elf string) {
	tg, err := qemu.Start("qemu://child", qemu.Spec{Firmware: elf, Icount: 5})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("pid", tg.PID())
	time.Sleep(time.Hour)
}
