// Package scripted is a target that plays a misbehaving board, on a virtual
// clock, for tests of everything that drives a board (the run driver, the
// conformance kit, the gate). It is in the spirit of periph's
// i2ctest.Playback: the behaviour is fixed by the test, and the run is
// deterministic.
//
// # What it plays
//
// A Board: anything with the five methods of the reference model
// (firmware.Board satisfies it), or a Script, which sends frames at fixed
// times and answers commands with a function of the test's. Between the
// board and the host sits a filter with the Knobs: each knob is one way a
// real board or link misbehaves.
//
//	b, _ := firmware.NewBoard(firmware.Pathfinder(), firmware.Config{Mutex: firmware.ProtoInherit, Trace: 1})
//	t := scripted.New("scripted://pathfinder", b, scripted.Knobs{
//		IgnoreFirst: true,          // the first copy of every command is lost
//		DropTask:    []int{1},      // the first TK frame of task 1 is lost
//		ResetAfter:  60 * time.Millisecond,
//		Reason:      "BOR",         // every reboot reports a brown-out
//	})
//	obs, err := drive.Run(ctx, t, cfg)
//	t.Stats() // what the filter did: commands ignored, frames dropped, resets forced
//
// # Knobs
//
//   - IgnoreFirst: the first copy of each command id never reaches the board
//     (a host that does not resend with the same id gets no answer).
//   - IgnoreFaults: SF and FN are answered AK by the filter and never reach
//     the board (a board that accepts faults and does nothing).
//   - DropTask, DropLock: the first TK (LK) frame of these indices is lost.
//   - DropTableEnd: the first TE is lost.
//   - DropBootAfterReset: every BT after the first one is lost.
//   - DropDone: the first DN is lost.
//   - DropEvents: EV frames whose sequence number is in one of the ranges are
//     lost (gaps mid-span).
//   - ResetAfter: the board resets (software reset) each time its uptime
//     reaches this, whatever it is doing (a refill in flight included).
//   - ResetAtRun: the board resets once, at this run time (after the first GO).
//   - NeverBootAgain: after the first reset the board sends nothing.
//   - Reason: the reason every BT after the first reports (BOR, WDT, ...).
//   - Garbage: bytes sent before the first BT (boot-loader noise).
//   - Console: console lines sent after the first BT, and ConsoleBeforeReset
//     lines sent just before each reset.
//   - Latency: the board's output reaches the host this much board time
//     after it was sent (a backlogged link, or a host that stalls): the
//     host learns of a reboot late, and may resend a command to a board
//     that rebooted meanwhile.
//   - StallAtRun: from this run time on (after the GO event) the port sits
//     on the board's output until the host writes something, while the
//     board runs on (QEMU's UART after its CPU missed a wake-up, a USB
//     bridge that holds its bytes): the host sees silence, asks, and gets
//     everything at once.
//   - V1: the board speaks protocol v1: its BT has no version field and it
//     does not answer ID.
//
// # URL
//
// The scheme is registered, so a campaign can name it:
//
//	scripted://pathfinder?mutex=inherit&ignore_first=1&drop_task=1&drop_dn=1&reset_after=60ms&reason=BOR&never_boot_again=1&v1=1&ignore_faults=1&console=hello&stall_at_run=1s
//
// # Script
//
// A Script is a Board written by hand: Send queues frames at a board time,
// OnCommand answers each command. It does not run tasks; use it to play a
// banner and table, a stored stream, or an answer the model would never give.
package scripted
