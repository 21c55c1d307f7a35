package harness

import (
	"context"
	"testing"
	"time"

	_ "github.com/hilchaos/hilchaos/targets/scripted" // the scripted:// scheme
	"github.com/stretchr/testify/require"
)

// Must show: a board that ignores the first copy of every command gets
// the right verdict in every run: the fixed board passes, the 1997 board
// fails, and the record shows the commands were sent again.
func TestBoardIgnoringFirstCopiesGetsRightVerdicts(t *testing.T) {
	for _, c := range []struct {
		mutex, want string
	}{{"inherit", Pass}, {"none", Fail}} {
		camp, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: 3 * time.Second, Repeat: 2,
			Target: "scripted://pathfinder?ignore_first=1&mutex=" + c.mutex})
		require.NoError(t, err)
		sum, err := Execute(context.Background(), camp, Options{})
		if c.want == Pass {
			require.NoError(t, err)
		}
		require.Len(t, sum.Runs, 2)
		for i, r := range sum.Runs {
			require.Equal(t, c.want, r.Verdict, "mutex %s run %d: %+v %s", c.mutex, i, r.Checks, r.Error)
			require.Positive(t, r.Telemetry.Retries, "mutex %s run %d", c.mutex, i)
			require.Zero(t, r.Resets.Hang, "mutex %s run %d", c.mutex, i)
		}
	}
}
