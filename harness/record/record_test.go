package record

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hilchaos/hilchaos/harness/analyze"
)

// Every metric a check may name is read from the record, and only those.
func TestEveryCheckMetricIsReadable(t *testing.T) {
	r := &RunRecord{Resets: ResetCounts{Watchdog: 2, Hang: 1}, Tasks: map[string]analyze.TaskResult{"bc.dist": {P99ResponseUS: 5}}}
	for name := range runMetrics {
		_, ok := r.Metric(name)
		assert.True(t, ok, name)
	}
	for m := range taskMetrics {
		_, ok := r.Metric("bc.dist." + m)
		assert.True(t, ok, m)
	}
	v, _ := r.Metric("resets.total")
	assert.Equal(t, 3.0, v)
	v, _ = r.Metric("bc.dist.p99_response")
	assert.Equal(t, 5.0, v)
	for _, name := range []string{"bc.dist.wibble", "ghost.jobs", "wibble"} {
		_, ok := r.Metric(name)
		assert.False(t, ok, name)
	}
}
