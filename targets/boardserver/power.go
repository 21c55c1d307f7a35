package boardserver

import "time"

// PowerCycle switches the served board off and on again, as a rig's power
// switch would (firmware.Board's PowerCycle): it boots from power-on (BOOT
// reason POR, boot count 1) off plus the boot delay later. A board frozen
// in the hang test mode comes back too: the power ends any hang. What the
// board had already sent stays on the line.
func (s *Server) PowerCycle(off time.Duration) {
	s.mu.Lock()
	if s.frozen {
		s.frozen = false
		s.start = s.start.Add(time.Since(s.frozeAt))
	}
	s.board.AdvanceTo(s.now())
	s.board.PowerCycle(off)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
