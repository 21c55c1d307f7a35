package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/tracelog"
)

// bytesURL is a sim URL with wire=bytes: the same board, its frames
// decoded and CRC-checked by the host as a real link's.
func bytesURL(u string) string {
	if strings.Contains(u, "?") {
		return u + "&wire=bytes"
	}
	return u + "?wire=bytes"
}

// storedRuns runs c into a fresh store and returns each run's record
// (without what names the target or the host) and the content of its
// trace after the header line (which names the target).
func storedRuns(t *testing.T, c *Campaign) (records []map[string]any, traces [][]byte) {
	t.Helper()
	return storedRunsParallel(t, c, 2)
}

func storedRunsParallel(t *testing.T, c *Campaign, parallel int) (records []map[string]any, traces [][]byte) {
	t.Helper()
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	_, err = Execute(context.Background(), c, Options{Store: st, Parallel: parallel})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	f, err := os.Open(filepath.Join(dir, "runs.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		trace, _ := rec["trace"].(string)
		require.NotEmpty(t, trace, "run %v stores a trace", rec["index"])
		traces = append(traces, chunksOf(t, filepath.Join(dir, trace)))
		for _, k := range []string{"host", "target", "reference", "trace"} {
			delete(rec, k)
		}
		records = append(records, rec)
	}
	require.NoError(t, sc.Err())
	return records, traces
}

// chunksOf is what the log at path reads back as: every chunk's host time
// and bytes, as format 1 stored them. A log whose chunks were stored as
// frames reads the same as one whose chunks were stored as bytes.
func chunksOf(t *testing.T, path string) []byte {
	t.Helper()
	r, err := tracelog.Open(path)
	require.NoError(t, err)
	defer r.Close()
	var out []byte
	for {
		at, b, err := r.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, path)
		out = binary.AppendUvarint(out, uint64(at))
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
}

// The simulator hands the host its frames decoded (wire.FrameSource), not
// bytes to parse. Whole campaigns give the same records and store the
// same traces as when the host decodes and CRC-checks every byte
// (wire=bytes): watchdog resets and black boxes (mutex=none), inversions,
// power cycles, irq storms, random stress, and a link too slow for its
// trace level, so that frames are dropped.
func TestSimWireFramesMatchBytes(t *testing.T) {
	power := powerCampaign(t, "sim://pathfinder?mutex=none", true)
	power.Duration = 6 * time.Second
	// num is a number in a record, by its path.
	num := func(rec map[string]any, path ...string) float64 {
		var v any = rec
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		f, _ := v.(float64)
		return f
	}
	for _, tc := range []struct {
		name string
		c    *Campaign
		// what the campaign must show for the comparison to mean something
		what string
		path []string
	}{
		{"pathfinder", mustLoad(t, "../campaigns/pathfinder.yaml", Overrides{Repeat: 2, Duration: 8 * time.Second}), "watchdog resets", []string{"resets", "watchdog"}},
		{"overnight-soak", mustLoad(t, "../campaigns/overnight-soak.yaml", Overrides{Repeat: 3, Duration: 20 * time.Second}), "faults", []string{"faults_planned"}},
		{"preflight", mustLoad(t, "../campaigns/preflight.yaml", Overrides{Repeat: 1, Duration: 6 * time.Second}), "faults", []string{"faults_planned"}},
		{"slow-link", mustLoad(t, "../campaigns/overnight-soak.yaml", Overrides{Repeat: 2, Duration: 10 * time.Second, Target: "sim://pathfinder?mutex=inherit&baud=4800"}), "events lost", []string{"telemetry", "lost"}},
		{"power-cycle", power, "power cycles", []string{"resets", "power_cycle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, frameTraces := storedRuns(t, tc.c)
			c := *tc.c
			c.Target, c.Reference = bytesURL(c.Target), bytesURL(c.Reference)
			byBytes, byteTraces := storedRuns(t, &c)
			require.Equal(t, len(byBytes), len(frames))
			require.Positive(t, num(frames[0], tc.path...), "the campaign shows %s", tc.what)
			for i := range frames {
				assert.Equal(t, byBytes[i], frames[i], "run %d's record", i)
				assert.True(t, bytes.Equal(byteTraces[i], frameTraces[i]), "run %d's trace (%d and %d bytes)", i, len(byteTraces[i]), len(frameTraces[i]))
			}
		})
	}
}

func mustLoad(t *testing.T, path string, o Overrides) *Campaign {
	t.Helper()
	c, err := LoadCampaign(path, o)
	require.NoError(t, err)
	return c
}

// A simulated run repeats exactly even on a line too slow for its trace,
// where answers are lost and the driver sends commands again: the same
// records and traces twice, and with one run at a time.
func TestLossySimRunRepeats(t *testing.T) {
	c := mustLoad(t, "../campaigns/overnight-soak.yaml", Overrides{Repeat: 4, Duration: 30 * time.Second, Target: "sim://pathfinder?mutex=inherit&baud=19200"})
	first, firstTraces := storedRuns(t, c)
	retries := 0.0
	for _, r := range first {
		tel, _ := r["telemetry"].(map[string]any)
		n, _ := tel["retries"].(float64)
		retries += n
	}
	require.Positive(t, retries, "the slow line makes the driver send commands again")
	for _, parallel := range []int{2, 1} {
		again, againTraces := storedRunsParallel(t, c, parallel)
		for i := range first {
			assert.Equal(t, first[i], again[i], "--parallel %d: run %d's record", parallel, i)
			assert.True(t, bytes.Equal(firstTraces[i], againTraces[i]), "--parallel %d: run %d's trace", parallel, i)
		}
	}
}

// A board whose line is too slow for its trace drops its answers with its
// events: the rig error says so, with the counts, instead of only that no
// answer came.
func TestAnswersLostOnASlowLineAreExplained(t *testing.T) {
	c := mustLoad(t, "../campaigns/pathfinder.yaml", Overrides{Target: "sim://pathfinder?mutex=inherit&baud=57600"})
	sum, _ := Execute(context.Background(), c, Options{Parallel: 1})
	require.NotNil(t, sum)
	found := false
	for _, r := range sum.Runs {
		if strings.Contains(r.Error, "no answer to") {
			found = true
			assert.Contains(t, r.Error, "while the board sent")
			assert.Contains(t, r.Error, "may be too slow for the trace level")
		}
	}
	require.True(t, found, "pathfinder at full trace on 57600 baud loses an answer")
}
