package harness

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantOf reads the "# want: ..." line a broken campaign starts with.
func wantOf(t *testing.T, path string) string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	line := sc.Text()
	want, ok := strings.CutPrefix(line, "# want: ")
	require.True(t, ok, "%s must start with a '# want: ' line", path)
	return want
}

func TestLoadCampaignRejectsBrokenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := wantOf(t, path)
			_, err := LoadCampaign(path, Overrides{})
			require.Error(t, err)
			var inv *InvalidError
			require.True(t, errors.As(err, &inv), "want *InvalidError, got %T: %v", err, err)
			assert.Contains(t, err.Error(), path, "the message names the file")
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestLoadCampaignCollectsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
duration: -1s
repeat: 0
faults:
  - kind: nope
    schedule: {at: [1s]}
  - kind: lock-hold
    task: ghost
    lock: bus
    extra: 5ms
    schedule: {at: [1s]}
`), 0o644))
	_, err := LoadCampaign(path, Overrides{})
	var inv *InvalidError
	require.ErrorAs(t, err, &inv)
	msg := err.Error()
	for _, want := range []string{"name: required", "duration: must be positive", "repeat: must be at least 1",
		"faults[0].kind: unknown fault kind", `faults[1].task: the board at sim://pathfinder?mutex=none declares no task "ghost"`} {
		assert.Contains(t, msg, want)
	}
	assert.Len(t, inv.Problems, 5)
}

func TestLoadCampaignFormats(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"c.yaml": "name: y\nduration: 2s\nfaults:\n  - kind: load-burst\n    priority: 5\n    length: 10ms\n    schedule: {at: [1s]}\n",
		"c.toml": "name = \"t\"\nduration = \"2s\"\n[[faults]]\nkind = \"load-burst\"\npriority = 5\nlength = \"10ms\"\n[faults.schedule]\nat = [\"1s\"]\n",
		"c.json": `{"name":"j","duration":"2s","faults":[{"kind":"load-burst","priority":5,"length":"10ms","schedule":{"at":["1s"]}}]}`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
		c, err := LoadCampaign(path, Overrides{})
		require.NoError(t, err, name)
		assert.Equal(t, 2*time.Second, c.Duration, name)
		require.Len(t, c.Faults, 1, name)
		assert.Equal(t, []time.Duration{time.Second}, c.Faults[0].Schedule.At, name)
	}
}

func TestPlanIsAPureFunctionOfTheSeed(t *testing.T) {
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{})
	require.NoError(t, err)
	cycle := TableCycle(profileTable(mustSimProfile(c.Target)))
	firings := func(c *Campaign) []PlannedFault { p := PlanRun(c, 0); return p.Firings(cycle).All() }
	a, b := firings(c), firings(c)
	require.Equal(t, a, b)
	require.NotEmpty(t, a)
	other := uint64(c.Seed + 1)
	c2, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Seed: &other})
	require.NoError(t, err)
	assert.NotEqual(t, a, firings(c2), "another seed gives other fault times")
	for i := 1; i < len(a); i++ {
		assert.LessOrEqual(t, a[i-1].At, a[i].At, "faults are sorted by time")
		assert.Equal(t, uint32(i), a[i].ID, "ids count in firing order")
	}
}

func TestParseCheck(t *testing.T) {
	tasks := map[string]bool{"bc_dist": true}
	for _, tc := range []struct {
		expr   string
		metric string
		op     string
		limit  float64
		err    string
	}{
		{expr: "bc_dist.p99_response < 100ms", metric: "bc_dist.p99_response", op: "<", limit: 100000},
		{expr: "resets.watchdog == 0", metric: "resets.watchdog", op: "==", limit: 0},
		{expr: "inversions<=2", metric: "inversions", op: "<=", limit: 2},
		{expr: "bc_dist.max_response >= 1.5s", metric: "bc_dist.max_response", op: ">=", limit: 1.5e6},
		{expr: "bc_dist.p99_response < 100", err: "has no unit"},
		{expr: "bc_dist.wibble < 1", err: "unknown task metric"},
		{expr: "ghost.max_response < 1ms", err: `unknown task "ghost"`},
		{expr: "resets.watchdog", err: "want METRIC OP VALUE"},
		{expr: "resets.watchdog == lots", err: "not a number"},
	} {
		c, err := ParseCheck(tc.expr, tasks)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.expr)
			continue
		}
		require.NoError(t, err, tc.expr)
		assert.Equal(t, tc.metric, c.Metric, tc.expr)
		assert.Equal(t, tc.op, c.Op, tc.expr)
		assert.InDelta(t, tc.limit, c.Limit, 1e-9, tc.expr)
	}
}

func TestTimeoutProblemsInFieldOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: t\ntimeouts: {boot: 0s, liveness: -1s, reconnect: 0s}\n"), 0o644))
	for range 20 { // map order would differ between loads
		_, err := LoadCampaign(path, Overrides{})
		var inv *InvalidError
		require.ErrorAs(t, err, &inv)
		require.Len(t, inv.Problems, 3)
		for i, field := range []string{"timeouts.boot", "timeouts.liveness", "timeouts.reconnect"} {
			require.True(t, strings.HasPrefix(inv.Problems[i].Error(), field+":"), inv.Problems[i].Error())
		}
	}
}
