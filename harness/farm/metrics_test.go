package farm

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/record"
)

func TestMetrics(t *testing.T) {
	pool := NewPool([]Rig{{Name: "a", MaxConsecutiveErrors: 1}, {Name: "b"}})
	pool.Done(0, RigError, "port gone")
	pool.Done(1, Passed, "")
	m := NewMetrics(pool)
	m.Observe(&record.RunRecord{Verdict: record.Pass, DurationUS: 2_500_000, Resets: record.ResetCounts{Watchdog: 3, Hang: 1},
		Telemetry: record.Telemetry{Lost: 7}, Attempts: []record.Attempt{{Rig: "a", Error: "port gone"}}})
	m.Observe(&record.RunRecord{Verdict: record.Fail, DurationUS: 1_000_000})
	m.Observe(&record.RunRecord{Verdict: record.Error, DurationUS: 1_000_000, Rig: &record.RigInfo{Name: "b"}})
	addr, stop, err := m.Serve("127.0.0.1:0")
	require.NoError(t, err)
	defer stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(b)
	for _, want := range []string{
		`hilchaos_runs_total{verdict="pass"} 1`, `hilchaos_runs_total{verdict="fail"} 1`, `hilchaos_runs_total{verdict="error"} 1`,
		`hilchaos_resets_total{kind="watchdog"} 3`, `hilchaos_resets_total{kind="hang"} 1`,
		`hilchaos_board_seconds_total 3.5`, `hilchaos_telemetry_lost_events_total 7`,
		`hilchaos_rig_errors_total{rig="a"} 1`, `hilchaos_rig_errors_total{rig="b"} 1`,
		`hilchaos_rig_quarantined{rig="a"} 1`, `hilchaos_rig_quarantined{rig="b"} 0`,
		`hilchaos_rig_runs{outcome="passed",rig="b"} 1`, `hilchaos_rig_runs{outcome="error",rig="a"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	_, _, err = m.Serve("127.0.0.1:-5")
	assert.Error(t, err)
}
