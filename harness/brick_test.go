package harness

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/score"
	"github.com/hilchaos/hilchaos/targets"
)

// silentAfterReset passes a simulated board's bytes through until its
// second BOOT banner (the first reset) and then says nothing more: a board
// that does not come back, on a link that stays up (reads time out, they
// do not fail).
type silentAfterReset struct {
	targets.Target
	banner bool // pass the second banner through, then fall silent
	boots  int
	silent bool
}

func (s *silentAfterReset) Now() time.Time { return targets.ClockOf(s.Target).Now() }

func (s *silentAfterReset) Read(p []byte) (int, error) {
	n, err := s.Target.Read(p) // read on, so the simulated board's time goes on
	if s.silent {
		return 0, err
	}
	for i := 0; i < n; {
		k := bytes.Index(p[i:n], []byte("$BT,"))
		if k < 0 {
			break
		}
		if s.boots++; s.boots == 2 {
			s.silent = true
			end := i + k
			if s.banner {
				end += bytes.IndexByte(p[end:n], '\n') + 1
			}
			return end, nil
		}
		i += k + 4
	}
	return n, err
}

// A board silent after its reset while the link is up is a brick: a
// firmware failure (the run fails), not a rig error, with the reset and
// the brick in the record.
func TestSilentAfterResetIsBrick(t *testing.T) {
	c, err := LoadCampaign("testdata/inversion.yaml", Overrides{Repeat: 1})
	require.NoError(t, err)
	p := PlanRun(c, 0)
	sim, err := targets.Open(c.Target, targets.Options{Seed: p.Seed, Trace: c.Trace})
	require.NoError(t, err)
	defer sim.Close()
	obs, err := driveRun(context.Background(), &silentAfterReset{Target: sim}, c, p, nil, newIDs(), true)
	var be *BrickError
	require.True(t, errors.As(err, &be), "%v", err)
	var ie *InfraError
	assert.False(t, errors.As(err, &ie), "a brick is not a rig error")
	// The watchdog reset's banner never came: the driver saw silence (a
	// hang), reset the board, and it did not boot.
	assert.Equal(t, ResetHang, be.After)
	assert.Equal(t, c.Timeouts.Boot, be.Timeout)
	assert.Equal(t, 1, obs.ResetKinds[ResetHang])
	assert.Equal(t, obs.Resets[0].AtUS, be.AtUS, "the brick follows the reset, on board time")

	rec := &RunRecord{DurationUS: p.Duration.Microseconds()}
	fill(rec, obs, c)
	rec.Resets.Brick = 1
	o := observed(obs)
	o.Brick = true
	score.Judge(rec, nil, c.criteria(), o)
	assert.Equal(t, record.Fail, rec.Verdict, "whatever evidence is missing: %v", rec.Evidence.Missing)
	for _, m := range rec.Evidence.Missing {
		assert.NotContains(t, m, "short of", "a brick is not a short run")
	}
}

// The board resets, sends its banner and then nothing (no table): a brick
// after the watchdog reset.
func TestSilentAfterBannerIsBrick(t *testing.T) {
	c, err := LoadCampaign("testdata/inversion.yaml", Overrides{Repeat: 1})
	require.NoError(t, err)
	p := PlanRun(c, 0)
	sim, err := targets.Open(c.Target, targets.Options{Seed: p.Seed, Trace: c.Trace})
	require.NoError(t, err)
	defer sim.Close()
	obs, err := driveRun(context.Background(), &silentAfterReset{Target: sim, banner: true}, c, p, nil, newIDs(), true)
	var be *BrickError
	require.True(t, errors.As(err, &be), "%v", err)
	assert.Equal(t, ResetWatchdog, be.After)
	assert.Equal(t, 1, obs.ResetKinds[ResetWatchdog])
	assert.Contains(t, be.Error(), "brick")
}
