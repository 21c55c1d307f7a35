package shrink

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSignature(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Evidence
		sig  string
		at   int64
	}{
		{"pass", Evidence{Verdict: "pass"}, "", -1},
		{"black box names the blocked task",
			Evidence{Verdict: "fail", Resets: []ResetEvidence{{AtUS: 325526, Kind: "watchdog", Missed: "bc_dist", Blocked: "bc_dist", Lock: "bus"}}, FailedChecks: []string{"resets.watchdog == 0"}},
			"reset:watchdog blocked=bc_dist@bus", 325526},
		{"inversion episode open at the reset",
			Evidence{Verdict: "fail", Resets: []ResetEvidence{{AtUS: 325526, Kind: "watchdog"}}, Episodes: []EpisodeEvidence{{StartUS: 128430, LengthUS: 197096, High: "bc_dist", Lock: "bus"}}},
			"reset:watchdog blocked=bc_dist@bus", 325526},
		{"an episode long before the reset does not count",
			Evidence{Verdict: "fail", Resets: []ResetEvidence{{AtUS: 9_000_000, Kind: "watchdog", Missed: "bc_dist"}}, Episodes: []EpisodeEvidence{{StartUS: 128430, LengthUS: 1000, High: "bc_dist", Lock: "bus"}}},
			"reset:watchdog missed=bc_dist", 9_000_000},
		{"the first reset decides",
			Evidence{Verdict: "fail", Resets: []ResetEvidence{{AtUS: 100, Kind: "hang"}, {AtUS: 200, Kind: "watchdog", Blocked: "bc_dist", Lock: "bus"}}},
			"reset:hang", 100},
		{"first failed check",
			Evidence{Verdict: "fail", FailedChecks: []string{"bc_dist.max_response < 125ms", "inversions == 0"}},
			"check:bc_dist.max_response < 125ms", -1},
		{"score only", Evidence{Verdict: "fail"}, "score", -1},
	} {
		sig, at := Signature(tc.ev)
		assert.Equal(t, tc.sig, sig, tc.name)
		assert.Equal(t, tc.at, at, tc.name)
	}
}
