package tracelog

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/wire"
)

type rec struct {
	tables []int
	resets []int64
	events []int64
}

func (r *rec) SetTable(t *wire.Table)         { r.tables = append(r.tables, len(t.Tasks)) }
func (r *rec) Reset(at int64)                 { r.resets = append(r.resets, at) }
func (r *rec) Event(at int64, ev *wire.Event) { r.events = append(r.events, at) }

func session() []byte {
	var b []byte
	b = wire.AppendBoot(b, wire.Boot{Name: "x", Version: "1", Build: "b", Reason: wire.ReasonPowerOn, BootCount: 1})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 0, Name: "a", Priority: 1, Period: 10})
	b = wire.AppendTableEnd(b, 1, 0)
	b = wire.AppendEvent(b, wire.Event{Seq: 0, Time: 1000, Kind: wire.EvRun, Task: -1})
	b = wire.AppendEvent(b, wire.Event{Seq: 1, Time: 1000, Kind: wire.EvRelease, Task: 0})
	b = wire.AppendEvent(b, wire.Event{Seq: 2, Time: 1500, Kind: wire.EvWatchdogExpiry, Task: -1})
	b = wire.AppendBoot(b, wire.Boot{Name: "x", Version: "1", Build: "b", Reason: wire.ReasonWatchdog, BootCount: 2, Uptime: 50})
	b = wire.AppendTask(b, wire.TaskInfo{Index: 0, Name: "a", Priority: 1, Period: 10})
	b = wire.AppendTableEnd(b, 1, 0)
	b = wire.AppendEvent(b, wire.Event{Seq: 0, Time: 60, Kind: wire.EvRun, Task: -1})
	b = wire.AppendEvent(b, wire.Event{Seq: 1, Time: 70, Kind: wire.EvRelease, Task: 0})
	return b
}

// readLog reads the log at path to its end: each chunk's host time and
// bytes.
func readLog(t *testing.T, path string) (ats []time.Duration, chunks []string) {
	t.Helper()
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	for {
		at, b, err := r.Next()
		if err == io.EOF {
			return ats, chunks
		}
		require.NoError(t, err, "%s, chunk %d", path, len(chunks))
		ats, chunks = append(ats, at), append(chunks, string(b))
	}
}

func TestRoundTripAndReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), Path(3))
	clock := time.Unix(0, 0)
	w, err := Create(path, "sim://pathfinder?mutex=none", func() time.Time { clock = clock.Add(time.Millisecond); return clock })
	require.NoError(t, err)
	data := session()
	for i := 0; i < len(data); i += 7 {
		_, _ = w.Write(data[i:min(i+7, len(data))])
	}
	require.NoError(t, w.Close())

	r, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, "sim://pathfinder?mutex=none", r.Target)
	var got []byte
	var last time.Duration
	for {
		at, b, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		assert.Greater(t, at, last, "host receive times increase")
		last = at
		got = append(got, b...)
	}
	r.Close()
	assert.Equal(t, data, got)

	var h rec
	require.NoError(t, Replay(path, &h))
	assert.Equal(t, []int{1, 1}, h.tables)
	assert.Equal(t, []int64{500}, h.resets, "reset at the run time of the last event before it")
	// GO at 0, RL 0, WX 500; after the reboot run time continues from 500.
	assert.Equal(t, []int64{0, 0, 500, 560, 570}, h.events)
}

func TestTruncatedLogReplaysWhatIsThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.wire.gz")
	w, err := Create(path, "t", time.Now)
	require.NoError(t, err)
	for range 200 {
		_, _ = w.Write(session())
	}
	require.NoError(t, w.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b[:len(b)*2/3], 0o644))
	var h rec
	err = Replay(path, &h)
	require.NoError(t, err)
	assert.NotEmpty(t, h.events)
}

// A damaged log fails with an error that names the file.
func TestDamagedLogErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.wire.gz")
	w, err := Create(path, "t", time.Now)
	require.NoError(t, err)
	_, _ = w.Write(session())
	require.NoError(t, w.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)-8] ^= 0xFF // the gzip trailer's CRC-32
	require.NoError(t, os.WriteFile(path, b, 0o644))
	var h rec
	err = Replay(path, &h)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}

// A file that is not a log is refused without reading it all: a header
// line is looked for in the first 64 KiB only (a gzip of zeros with no line
// end used to be decompressed whole into memory).
func TestOpenNotALogReadsLittle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeros.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	gz := gzip.NewWriter(f)
	zeros := make([]byte, 1<<20)
	for range 32 {
		_, err := gz.Write(zeros)
		require.NoError(t, err)
	}
	require.NoError(t, gz.Close())
	require.NoError(t, f.Close())

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = Open(path)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated to refuse the file")
}

// A stream many compression batches long comes back chunk for chunk,
// with its receive times, whatever the batch boundaries cut.
func TestLongStreamRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), Path(1))
	clock := time.Unix(0, 0)
	w, err := Create(path, "sim://pathfinder", func() time.Time { clock = clock.Add(time.Microsecond); return clock })
	require.NoError(t, err)
	var chunks [][]byte
	for i := 0; len(chunks) < 3000; i++ {
		var c []byte
		for k := 0; k <= i%97; k++ {
			c = wire.AppendEvent(c, wire.Event{Seq: uint32(i*100 + k), Time: uint64(i), Kind: wire.EvEnd, Task: int32(k % 7), Arg: int64(i)})
		}
		chunks = append(chunks, c)
		_, _ = w.Write(c)
	}
	require.NoError(t, w.Close())
	ats, got := readLog(t, path)
	require.Len(t, got, len(chunks))
	for i, want := range chunks {
		require.Equal(t, time.Duration(i+1)*time.Microsecond, ats[i], "chunk %d", i)
		require.Equal(t, string(want), got[i], "chunk %d", i)
	}
}

// A disk that is full: writing never fails the run, and Close says which
// log could not be stored.
func TestFullDiskIsReportedAtClose(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	w, err := Create("/dev/full", "sim://pathfinder", time.Now)
	require.NoError(t, err)
	for i := 0; i < 300; i++ {
		n, err := w.Write(session())
		require.NoError(t, err)
		require.Equal(t, len(session()), n)
	}
	err = w.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/dev/full")
}

// Frames handed over as frames are logged as their bytes, in order with
// chunks written as bytes, whatever the batch they fall in.
func TestWriteFramesLogsTheirBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), Path(2))
	clock := time.Unix(0, 0)
	w, err := Create(path, "sim://pathfinder", func() time.Time { clock = clock.Add(time.Microsecond); return clock })
	require.NoError(t, err)
	var want [][]byte
	for i := 0; i < 4000; i++ {
		if i%5 == 0 {
			c := wire.AppendAck(nil, uint32(i))
			_, _ = w.Write(c)
			want = append(want, c)
			continue
		}
		var fs wire.Frames
		for k := 0; k <= i%40; k++ {
			ev := wire.Event{Seq: uint32(i), Time: uint64(k), Kind: wire.EvLock, Task: int32(k % 5), Arg: int64(i)}
			fs.AddEvent(ev, wire.EventLen(ev))
			if k%9 == 0 {
				fs.AddLine(wire.AppendAck(nil, uint32(k)))
			}
			if k%11 == 3 {
				fs.AddSummary(wire.Summary{Seq: uint32(k), Time: uint64(i), Task: int32(k % 3), Jobs: 4, MaxResp: 77})
			}
		}
		c := fs.AppendWire(nil)
		w.WriteFrames(&fs, len(c))
		// The source may reuse its memory at once.
		for k := range fs.List {
			fs.List[k].Ev.Seq, fs.List[k].Off = 1e9, 0
		}
		for k := range fs.Bytes {
			fs.Bytes[k] = 'x'
		}
		want = append(want, c)
	}
	require.NoError(t, w.Close())
	ats, got := readLog(t, path)
	require.Len(t, got, len(want))
	for i, c := range want {
		require.Equal(t, time.Duration(i+1)*time.Microsecond, ats[i], "chunk %d", i)
		require.Equal(t, string(c), got[i], "chunk %d", i)
	}
}

// CloseAsync lets the next log be written while the last one is synced:
// each wait returns once its own log is complete on disk, a write after
// the close is not logged, and a full disk is reported by the wait.
func TestCloseAsync(t *testing.T) {
	dir := t.TempDir()
	data := session()
	var waits []func() error
	for i := range 3 {
		w, err := Create(filepath.Join(dir, Path(i)), "sim://pathfinder", time.Now)
		require.NoError(t, err)
		for k := 0; k <= 400*i; k++ {
			_, _ = w.Write(data)
		}
		waits = append(waits, w.CloseAsync())
		_, _ = w.Write([]byte("after the close\n"))
		assert.ErrorContains(t, w.CloseAsync()(), "closed twice")
	}
	for i, wait := range waits {
		require.NoError(t, wait(), "log %d", i)
		require.NoError(t, wait(), "log %d, asked again", i)
		_, chunks := readLog(t, filepath.Join(dir, Path(i)))
		for k, c := range chunks {
			require.Equal(t, string(data), c, "log %d chunk %d", i, k)
		}
		assert.Len(t, chunks, 400*i+1, "log %d", i)
	}

	w, err := Create("/dev/full", "sim://pathfinder", time.Now)
	require.NoError(t, err)
	for range 300 {
		_, _ = w.Write(data)
	}
	assert.ErrorContains(t, w.CloseAsync()(), "/dev/full")
}

// A log of format 1 (every chunk its bytes, no frame chunks), as results
// directories written before format 2 hold them, reads and replays as it
// did.
func TestFormat1LogsStillRead(t *testing.T) {
	data := session()
	var body []byte
	body = append(body, MagicV1+" sim://pathfinder?mutex=none\n"...)
	for i, at := 0, uint64(0); i < len(data); i += 11 {
		at += 1000
		chunk := data[i:min(i+11, len(data))]
		body = binary.AppendUvarint(body, at)
		body = binary.AppendUvarint(body, uint64(len(chunk)))
		body = append(body, chunk...)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(body)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), "old.wire.gz")
	require.NoError(t, os.WriteFile(path, gz.Bytes(), 0o644))

	r, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, "sim://pathfinder?mutex=none", r.Target)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, string(data), string(got))
	var h rec
	require.NoError(t, Replay(path, &h))
	assert.Equal(t, []int64{0, 0, 500, 560, 570}, h.events)
}

// The frames a source hands over decoded are stored in a fraction of
// their bytes' room, and read back as those bytes.
func TestFrameChunksAreSmall(t *testing.T) {
	dir := t.TempDir()
	evs := eventList(1 << 20)
	var fs wire.Frames
	var raw []byte
	for _, ev := range evs {
		fs.AddEvent(ev, wire.EventLen(ev))
		raw = wire.AppendEvent(raw, ev)
	}
	frames, bytesLog := filepath.Join(dir, "frames.wire.gz"), filepath.Join(dir, "bytes.wire.gz")
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	w, err := Create(frames, "sim://pathfinder", now)
	require.NoError(t, err)
	w.WriteFrames(&fs, len(raw))
	require.NoError(t, w.Close())
	w, err = Create(bytesLog, "sim://pathfinder", now)
	require.NoError(t, err)
	_, _ = w.Write(raw)
	require.NoError(t, w.Close())

	for _, p := range []string{frames, bytesLog} {
		r, err := Open(p)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		r.Close()
		require.Equal(t, len(raw), len(got), p)
		require.True(t, bytes.Equal(raw, got), p)
	}
	fi, err := os.Stat(frames)
	require.NoError(t, err)
	bi, err := os.Stat(bytesLog)
	require.NoError(t, err)
	t.Logf("%d events, %d bytes on the wire: %d bytes stored as frames, %d as bytes", len(evs), len(raw), fi.Size(), bi.Size())
	assert.Less(t, fi.Size()*3, bi.Size(), "frames store in a third of the bytes' room or less")
}

// A live log never holds up the reads of its stream: with its file a pipe
// that nobody reads (a stalled file system), megabytes of writes return,
// waiting in memory, and once the pipe is read the log is whole. Beyond
// MaxQueued it stops, and Close says where.
func TestLiveLogNeverWaits(t *testing.T) {
	data := session()
	for _, tc := range []struct {
		name   string
		max    int
		chunks int
	}{{"whole", 256 << 20, 20000}, {"fell behind", 256 << 10, 20000}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(old int) { MaxQueued = old }(MaxQueued)
			MaxQueued = tc.max
			path := filepath.Join(t.TempDir(), "stalled.wire.gz")
			require.NoError(t, syscall.Mkfifo(path, 0o644))
			opened := make(chan *os.File, 1)
			go func() {
				f, err := os.Open(path) // blocks until the log opens it
				if err == nil {
					opened <- f
				}
			}()
			clock := time.Unix(0, 0)
			w, err := CreateLive(path, "serial:///dev/ttyACM0", func() time.Time { clock = clock.Add(time.Millisecond); return clock })
			require.NoError(t, err)
			pipe := <-opened
			defer pipe.Close()

			wrote := make(chan struct{})
			go func() {
				for range tc.chunks {
					_, _ = w.Write(data)
				}
				close(wrote)
			}()
			// Nothing reads the pipe yet: the writes end all the same.
			select {
			case <-wrote:
			case <-time.After(time.Minute):
				t.Fatal("writing to a live log waited for its file")
			}
			stored := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(pipe)
				stored <- b
			}()
			err = w.Close()
			copyPath := filepath.Join(t.TempDir(), "copy.wire.gz")
			require.NoError(t, os.WriteFile(copyPath, <-stored, 0o644))
			_, chunks := readLog(t, copyPath)
			for k, c := range chunks {
				require.Equal(t, string(data), c, "chunk %d", k)
			}
			n := len(chunks)
			if tc.max > tc.chunks*len(data) {
				// Nothing went wrong but the sync: a pipe cannot be synced.
				require.ErrorIs(t, err, syscall.EINVAL)
				require.NotContains(t, err.Error(), "behind")
				assert.Equal(t, tc.chunks, n, "every chunk is in the log")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "fell more than 0.2 MB behind the stream")
			assert.Contains(t, err.Error(), path)
			assert.Less(t, n, tc.chunks, "the log stops where it fell behind")
			assert.Positive(t, n)
		})
	}
}
