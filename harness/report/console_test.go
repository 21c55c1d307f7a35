package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hilchaos/hilchaos/harness/record"
)

// TestLinkTable: the link table appears only when a link counter is not
// zero, with a column per counter that is not zero and a row per run
// that has one; the host's own retries alone do not make it appear.
func TestLinkTable(t *testing.T) {
	clean := &record.Summary{Runs: []record.RunRecord{{Index: 0, Telemetry: record.Telemetry{Frames: 900, Reasks: 1, Retries: 2}}}}
	var buf bytes.Buffer
	writeTelemetry(&buf, clean)
	assert.Empty(t, buf.String(), "a clean link: no table")
	assert.Empty(t, telemetryHTML(clean))

	noisy := &record.Summary{Runs: []record.RunRecord{
		{Index: 0, Telemetry: record.Telemetry{Frames: 900, Reasks: 1}},
		{Index: 1, Telemetry: record.Telemetry{Frames: 800, BadCRC: 3, Gaps: 2, Lost: 5, Retries: 4}},
		{Index: 2, Telemetry: record.Telemetry{Frames: 700, Console: 7}},
	}}
	head, rows := telemetryTable(noisy)
	assert.Equal(t, []string{"run", "frames", "bad CRC", "seq gaps", "lost", "console lines", "retries"}, head)
	assert.Equal(t, [][]string{{"1", "800", "3", "2", "5", "0", "4"}, {"2", "700", "0", "0", "0", "7", "0"}}, rows)
	buf.Reset()
	writeTelemetry(&buf, noisy)
	assert.Contains(t, buf.String(), "| 1   | 800    | 3       | 2        | 5    | 0             | 4       |")
	assert.Contains(t, string(telemetryHTML(noisy)), `<td data-counter="bad CRC">3</td>`)
}
