package harness

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/score"
	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// ignoresFaults is a board that acknowledges every fault command and fires
// none: the SF frames it is sent are rewritten to fire long after the run.
type ignoresFaults struct {
	targets.Target
}

func (s *ignoresFaults) Now() time.Time { return targets.ClockOf(s.Target).Now() }

func (s *ignoresFaults) Write(p []byte) (int, error) {
	r := wire.NewReader(bytes.NewReader(p))
	var out []byte
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		c, err := f.Command()
		if err != nil {
			return 0, err
		}
		if c.Type == wire.TypeSchedule {
			c.At += 1 << 40
		}
		out = wire.AppendCommand(out, c)
	}
	if _, err := s.Target.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// A board that ignores fault commands: the run is inconclusive, with every
// missing firing listed by fault name and planned board time, although
// every check passes.
func TestIgnoredFaultsAreInconclusive(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Repeat: 1, Target: "sim://pathfinder?mutex=none", Duration: 10 * time.Second})
	require.NoError(t, err)
	p := PlanRun(c, 0)
	sim, err := targets.Open(c.Target, targets.Options{Seed: p.Seed, Trace: c.Trace})
	require.NoError(t, err)
	defer sim.Close()
	obs, err := driveRun(context.Background(), &ignoresFaults{Target: sim}, c, p, nil, newIDs(), true)
	require.NoError(t, err)
	assert.Zero(t, obs.ResetCount, "without its faults mutex=none runs clean")

	planned := p.Firings(TableCycle(profileTable(mustSimProfile(c.Target)))).All()
	rec := &RunRecord{DurationUS: p.Duration.Microseconds()}
	fill(rec, obs, c)
	score.Judge(rec, nil, c.criteria(), observed(obs))
	assert.Equal(t, record.Inconclusive, rec.Verdict)
	for _, ch := range rec.Checks {
		assert.True(t, ch.Pass, ch.Expr)
	}
	fc := rec.Evidence.Faults
	assert.Equal(t, uint64(len(planned)), fc.Expected, "every planned firing was due within the run")
	assert.Equal(t, fc.Expected, fc.Missing)
	require.Len(t, fc.List, len(planned))
	for i, m := range fc.List {
		assert.Equal(t, planned[i].ID, m.ID)
		assert.Equal(t, planned[i].Name, m.Fault)
		assert.Equal(t, int64(planned[i].At), m.ExpectedUS, "on the board clock: run time = plan time without resets")
		assert.Equal(t, "no FB event", m.Why)
	}
	require.NotEmpty(t, rec.Evidence.Missing)
	assert.Contains(t, rec.Evidence.Missing[0], "planned fault firings did not begin on the board")
}

// mutex=none Pathfinder: the bc_dist jobs the resets kill are in p99, and
// the same faults on the board in time give a run with its evidence.
func TestResetsInEveryFigure(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Repeat: 1, Target: "sim://pathfinder?mutex=none", Duration: 10 * time.Second})
	require.NoError(t, err)
	rec, err := ExecuteRun(context.Background(), c, PlanRun(c, 0), Options{})
	require.NoError(t, err)
	assert.Equal(t, record.Fail, rec.Verdict)
	assert.Empty(t, rec.Evidence.Missing)
	bc := rec.Tasks["bc_dist"]
	assert.Greater(t, bc.Censored, uint64(0))
	assert.GreaterOrEqual(t, bc.P99ResponseUS, int64(125_000), "the killed jobs waited past the 125 ms bus cycle")
	assert.GreaterOrEqual(t, bc.DeadlineMisses, uint64(rec.Resets.Watchdog))
	var n int64
	for _, b := range bc.ResponseHist {
		n += b.Count
	}
	assert.Equal(t, int64(bc.Jobs+bc.Censored), n, "the histogram holds every sample, censored ones included")
}
