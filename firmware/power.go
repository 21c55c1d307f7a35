package firmware

import (
	"time"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// PowerCycle switches the board off now and on again off later, as a
// rig's power switch would: everything is lost, the .noinit area (boot
// count, black box) too, and the frames still in the UART never leave it.
// While off the board neither sends nor hears anything; when power comes
// back it boots as from power-on (BOOT reason POR, boot count 1, uptime
// counted from power-on) after the profile's boot delay.
func (b *Board) PowerCycle(off time.Duration) {
	off = max(off, 0)
	b.tx.cut(b.now)
	b.reset(bootPOR)
	b.bootCount = 1
	b.bbNext, b.bbLen = 0, 0
	b.bb = [blackBoxSize]wire.Event{}
	b.bootAt = b.now + int64(off)
	// reset queued the banner a boot delay from now: from power-on instead.
	b.timers = b.timers[:0]
	b.push(b.bootAt+int64(b.prof.BootDelay), tmBoot, 0, int64(bootPOR))
}

// BootedAt is the board time (ns since the first power-on) of its last
// boot: of the last reset, or of the end of the last power cycle's off time.
func (b *Board) BootedAt() int64 { return b.bootAt }
