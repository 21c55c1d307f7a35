package drive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Power cycles are faults the host carries out itself (docs/CAMPAIGNS.md,
// power-cycle): they come from the plan with the board's faults, are kept
// in a queue of their own, never uploaded, and fired from the observe
// loop when the board's run time reaches them:
//
//   - on a target that owns time and reads the board's clock (the
//     simulator) the read deadline is set to the exact virtual moment, so
//     the cycle falls on the planned board time and a run reproduces;
//   - on a real board the host estimates the board's time from the last
//     event and its receive time, and fires when the estimate (or an
//     event) reaches the planned time.
//
// The reboot that follows is the host's: it is counted once, as a reset
// of kind ResetPowerCycle, and its banner only fills in the reason. A
// board that does not come back from it is a rig error (InfraError), not
// a brick: the host switched the power, and silence may be the switch.

// hostFiring is one planned power cycle.
type hostFiring struct {
	AtUS int64 // plan time
	ID   uint32
	Off  time.Duration
	Name string
}

// maxHostQueue bounds the power cycles generated ahead of the run.
const maxHostQueue = 4096

type powerState struct {
	hostQ   []hostFiring
	pending bool    // a power cycle was done and its banner not seen yet
	failed  error   // the board ran on through the power cycle
	at      float64 // host µs (since connect) when the last cycle was done
	exact   targets.BoardClock
}

// hostFull reports whether enough power cycles are queued: past the
// upload horizon, board faults after them are not needed yet either.
func (s *session) hostFull() bool {
	q := s.power.hostQ
	if len(q) == 0 {
		return false
	}
	return len(q) >= maxHostQueue || q[len(q)-1].AtUS >= max(s.lastRun+s.shift, s.segStart)+uploadLead
}

// queueHost keeps a power cycle the plan yielded.
func (s *session) queueHost(f Fault) {
	s.power.hostQ = append(s.power.hostQ, hostFiring{AtUS: f.AtUS, ID: f.ID, Off: f.Off, Name: f.Name})
}

// skipPlanned drops the faults, board and host ones, planned before
// planNow: they fell into a reboot (arm).
func (s *session) skipPlanned(planNow int64) {
	for {
		progressed := false
		for len(s.power.hostQ) > 0 && s.power.hostQ[0].AtUS < planNow {
			s.power.hostQ = s.power.hostQ[1:]
			s.obs.FaultsSkipped++
			progressed = true
		}
		if s.have(s.qNext) && s.queue[s.qNext].AtUS < planNow {
			s.obs.FaultsSkipped++
			s.qNext++
			progressed = true
		}
		if !progressed {
			return
		}
	}
}

// powerDue returns when the next power cycle is due on the target's
// clock, if one is due in the running segment.
func (s *session) powerDue() (time.Time, bool) {
	if !s.running || len(s.power.hostQ) == 0 {
		return time.Time{}, false
	}
	at := s.power.hostQ[0].AtUS - s.shift // run time
	if at > s.segEnd {
		return time.Time{}, false // past this segment's end: the run ends first
	}
	now := s.clk.Now()
	if c := s.power.exact; c != nil {
		// The board's uptime the cycle is planned at, against its
		// uptime now: exact on a board whose clock is the target's.
		up := at - s.base + s.origin
		return now.Add(time.Duration(up)*time.Microsecond - c.Uptime()), true
	}
	return now.Add(time.Duration(at-s.boardNow()) * time.Microsecond), true
}

// boardNow estimates the board's run time now: the last event's, plus
// the host time since it arrived: behind the board by the link's latency,
// so a power cycle fires that much late, never early.
func (s *session) boardNow() int64 {
	nowUS := float64(s.clk.Now().Sub(s.start)) / 1e3
	return s.lastRun + max(int64(nowUS-s.lastEvHost), 0)
}

// powerByEvent reports whether an event already showed the next power
// cycle's time passed (a real board; the simulator fires by its clock).
func (s *session) powerByEvent() bool {
	return s.power.exact == nil && s.running && len(s.power.hostQ) > 0 && s.lastRun >= s.power.hostQ[0].AtUS-s.shift
}

// firePower carries out the next power cycle: the board is switched off
// and on, and the reset is counted as the host's.
func (s *session) firePower(ctx context.Context) error {
	h := s.power.hostQ[0]
	s.power.hostQ = s.power.hostQ[1:]
	var at int64
	if c := s.power.exact; c != nil {
		// The planned time, unless the segment started after it.
		at = s.base - s.origin + c.Uptime().Microseconds()
	} else {
		at = max(s.boardNow(), s.lastRun)
	}
	pc := record.PowerCycle{Fault: h.Name, ID: h.ID, PlannedUS: h.AtUS, AtUS: at, OffUS: h.Off.Microseconds()}
	if s.cfg.PowerCycle == nil {
		return &RefusedError{Target: s.t.Name(), Command: "power cycle " + h.Name,
			Reason: "this target cannot switch the board's power (no power argv for it, and it is not a sim:// or qemu:// target)"}
	}
	// Before the switch: a board back on before the argv returns has
	// been up for less than the time since.
	s.power.at = float64(s.clk.Now().Sub(s.start)) / 1e3
	rep, err := s.cfg.PowerCycle(ctx, h.Off)
	pc.How, pc.Argv, pc.ExitCode, pc.Output = rep.How, rep.Argv, rep.ExitCode, rep.Output
	if err != nil {
		pc.Error = err.Error()
	}
	if len(s.obs.PowerCycles) < MaxResetLog {
		s.obs.PowerCycles = append(s.obs.PowerCycles, pc)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.infra("power cycle %s at t=%.3f s: %v", h.Name, float64(at)/1e6, err)
	}
	s.lastRun = max(s.lastRun, at)
	s.resetSeen(ResetPowerCycle, "", 0)
	s.newBoot()
	s.booted = false
	s.power.pending = true
	return nil
}

// powerBanner takes the first banner after a power cycle: it answers
// the cycle (already counted), and says what the board made of it.
func (s *session) powerBanner(b wire.Boot, hostBoot float64) {
	s.power.pending = false
	s.newBoot()
	if n := len(s.obs.Resets); n == s.obs.ResetCount && n > 0 {
		s.obs.Resets[n-1].Reason, s.obs.Resets[n-1].BootCount = b.Reason, b.BootCount
	}
	if n := len(s.obs.PowerCycles); n > 0 {
		s.obs.PowerCycles[n-1].BootReason = b.Reason
	}
	s.creditBoot(hostBoot)
}

// powerSilence is the error for a board that sent no banner after the
// host's power cycle: the rig (its switch did not bring the power back,
// or the board does not boot from cold), not a brick.
func (s *session) powerSilence(err error) error {
	var ie *InfraError
	cause := err
	if errors.As(err, &ie) {
		cause = ie.Err
	}
	return &InfraError{Target: s.t.Name(), Err: fmt.Errorf("no BOOT banner after the host's power cycle at t=%.3f s (%v): the power switch did not bring the board back, or it does not boot from power-on",
		float64(s.lastRun)/1e6, cause)}
}

// poweredThrough reports whether banner b, the first after a power cycle,
// is the old boot's own again (an answer to ID: the same boot count and
// an uptime that ran on across the cycle): the power never went off. That
// is the rig's failure (a relay on the wrong channel, a hub port that
// does not switch), and it ends the run as a rig error.
func (s *session) poweredThrough(b wire.Boot) bool {
	if !s.haveBoot || b.BootCount != s.boot.BootCount || b.Proto < wire.ProtoV2 {
		return false
	}
	// A board that was switched on after the cycle has been up for less
	// than the host time since the cycle (the banner is read after it is
	// sent); the old boot has been up for longer. The tolerance covers a
	// board clock faster than the host's.
	since := s.hostUS() - s.power.at
	if float64(b.Uptime) <= since+50e3+since*5e-4 {
		return false
	}
	s.power.pending = false
	s.power.failed = s.infra("the board ran on through the host's power cycle at t=%.3f s (its banner shows boot %d still up after %.3f s): the power switch did not switch it",
		float64(s.lastRun)/1e6, b.BootCount, float64(b.Uptime)/1e6)
	if n := len(s.obs.PowerCycles); n > 0 {
		s.obs.PowerCycles[n-1].Error = "the board did not reboot"
	}
	return true
}
