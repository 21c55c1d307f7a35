package drive

import "testing"

// A banner with the known boot count is the same boot (the answer to ID)
// unless its uptime is shorter than the known boot's must be by now (a
// board restarted from power-on counts from 1 again). A longer uptime is
// the same boot whose first banner was read late: a board that booted
// before the host opened the port, its banner waiting in the buffer. The
// first serial run against `firmware serve` counted that as a power-on
// reset, which the default check resets.unexpected == 0 failed.
func TestSameBootWithAStaleFirstBanner(t *testing.T) {
	s := &session{stamp: &stampReader{}, haveBootHost: true}
	s.stamp.atUS = 10_000_000 // the host now, µs
	s.bootHost = 9_000_000    // the boot as placed from the first banner: uptime 1 s expected now
	for _, c := range []struct {
		uptime uint64
		same   bool
	}{
		{1_000_000, true}, // as expected
		{1_100_000, true}, // latency
		{2_500_000, true}, // the first banner was read 1.5 s after it was sent
		{100_000, false},  // restarted: uptime afresh
		{600_000, false},  // 0.4 s short: more than the 250 ms tolerance
	} {
		if got := s.sameBoot(c.uptime); got != c.same {
			t.Errorf("uptime %d µs: same boot %v, want %v", c.uptime, got, c.same)
		}
	}
}
