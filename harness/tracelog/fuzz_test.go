package tracelog

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/hilchaos/hilchaos/targets/wire"
)

type sink struct{ events int }

func (s *sink) SetTable(*wire.Table)     {}
func (s *sink) Reset(int64)              {}
func (s *sink) Event(int64, *wire.Event) { s.events++ }

// FuzzReplay: a stored wire log that is damaged (inside its gzip stream)
// replays what it can or fails with an error; it never panics.
func FuzzReplay(f *testing.F) {
	f.Add([]byte(Magic + " sim://pathfinder\n\x01\x05$PG,1"))
	f.Add([]byte(Magic + " x\n\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(body)
		w.Close()
		path := filepath.Join(t.TempDir(), "run-0.wire.gz")
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = Replay(path, &sink{})
	})
}
