package record

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPlan: whatever DIR/plan.json holds, reading it never panics,
// and a plan that reads back is the plan OpenStoreFor would compare.
func FuzzReadPlan(f *testing.F) {
	f.Add([]byte(`{"campaign":"p","campaign_hash":"sha256:00","seed":1997,"target":"sim://pathfinder","duration_us":60000000,"runs":3}`))
	f.Add([]byte(`{"runs":-1,"sweep":{"fault":"h","param":"extra","nominal":"25ms","nominal_value":25000,"min_margin_value":null}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, PlanFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, ok, err := ReadPlan(dir)
		if err != nil {
			if ok {
				t.Fatal("ok with an error")
			}
			return
		}
		if !ok {
			t.Fatal("a plan file that exists was not read")
		}
		if f, _, _ := p.Differs(p); f != "" {
			t.Fatalf("a plan differs from itself in %s", f)
		}
	})
}
