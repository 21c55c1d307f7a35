package report

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/record"
	"github.com/hilchaos/hilchaos/harness/tracelog"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// A trace without context switches (trace level 1) still shows who ran:
// the timeline infers it, as the note under it says.
func TestTimelineInfersRunningAtLevel1(t *testing.T) {
	var b []byte
	b = wire.AppendBoot(b, wire.Boot{Name: "x", Version: "1", Build: "b", Reason: wire.ReasonPowerOn, BootCount: 1})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 0, Name: "hi", Priority: 2, Period: 10_000, Deadline: 10_000})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 1, Name: "lo", Priority: 1, Period: 10_000, Deadline: 10_000})
	b = wire.AppendTableEnd(b, 2, 0)
	b = wire.AppendEvent(b, wire.Event{Seq: 0, Time: 100, Kind: wire.EvRun, Task: wire.NoTask, Arg: 10_000})
	b = wire.AppendEvent(b, wire.Event{Seq: 1, Time: 100, Kind: wire.EvRelease, Task: 0})
	b = wire.AppendEvent(b, wire.Event{Seq: 2, Time: 100, Kind: wire.EvRelease, Task: 1})
	b = wire.AppendEvent(b, wire.Event{Seq: 3, Time: 600, Kind: wire.EvEnd, Task: 0, Arg: 500})
	b = wire.AppendEvent(b, wire.Event{Seq: 4, Time: 900, Kind: wire.EvEnd, Task: 1, Arg: 800})

	dir := t.TempDir()
	rel := tracelog.Path(0)
	w, err := tracelog.Create(filepath.Join(dir, rel), "test", time.Now)
	require.NoError(t, err)
	_, _ = w.Write(b)
	require.NoError(t, w.Close())

	tl, err := BuildTimeline(dir, &record.RunRecord{Trace: rel, DurationUS: 10_000}, 0, 1000)
	require.NoError(t, err)
	assert.False(t, tl.Full)
	assert.Contains(t, tl.TaskSpans["hi"], Span{From: 0, To: 500, What: "running"})
	assert.Contains(t, tl.TaskSpans["lo"], Span{From: 0, To: 500, What: "ready"})
	assert.Contains(t, tl.TaskSpans["lo"], Span{From: 500, To: 800, What: "running"})
}
