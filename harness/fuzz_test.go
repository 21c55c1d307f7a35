package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadCampaign: whatever bytes a campaign file holds, loading it either
// gives a campaign that plans, or an *InvalidError naming the file; it never
// panics.
func FuzzLoadCampaign(f *testing.F) {
	for _, p := range []string{"../campaigns/pathfinder.yaml", "testdata/bad/unknown-key.yaml", "testdata/bad/yaml-syntax.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\nfaults:\n  - kind: load-burst\n    priority: 5\n    length: 1ms\n    schedule: {every: 1ms}\n"))
	f.Add([]byte("name: x\nsweep: {fault: a, param: extra, values: [1ms]}\n"))
	f.Add([]byte("name: x\nfaults:\n  - kind: irq-storm\n    priority: 2\n    period: 200us\n    length: 50ms\n    schedule: {every: 1s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCampaign(path, Overrides{})
		if err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error is %T, not *InvalidError: %v", err, err)
			}
			return
		}
		if c.Duration > 0 && c.Duration <= DefaultDuration && c.Repeat <= 3 {
			_ = PlanRun(c, 0)
		}
	})
}

// FuzzReadRuns: a damaged run log gives records, warnings or an error
// naming the file, never a panic.
func FuzzReadRuns(f *testing.F) {
	f.Add([]byte(`{"campaign":"p","index":0,"seed":1,"verdict":"pass"}` + "\n" + `{"campaign":"p","ind`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, RunsFile)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, warns, err := ReadRuns(dir)
		for _, e := range append(warns, err) {
			if e != nil && !strings.Contains(e.Error(), path+":") {
				t.Fatalf("%q does not name the file and line", e)
			}
		}
	})
}
