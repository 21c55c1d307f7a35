package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stripHost drops the wall-clock facts (host start and end) from every line
// of a runs.jsonl, the only part that may differ between two invocations.
func stripHost(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		delete(m, "host")
		b, err := json.Marshal(m)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

// --parallel 2 on the simulated board gives the same JSON document, the
// same records in the same order in runs.jsonl, and the same traces as
// --parallel 1: runs end in any order but are committed in index order.
func TestParallelByteIdentical(t *testing.T) {
	dir := t.TempDir()
	var outs [2]string
	for i, par := range []string{"1", "2"} {
		out := filepath.Join(dir, "p"+par)
		code, stdout, stderr := hilchaos(t, "run", "../../campaigns/overnight-soak.yaml", "--duration", "20s", "--repeat", "12", "--parallel", par, "--out", out, "--format", "json")
		require.Equal(t, 0, code, stderr)
		outs[i] = stdout
	}
	assert.Equal(t, outs[0], outs[1], "the JSON documents differ")
	assert.Equal(t, stripHost(t, filepath.Join(dir, "p1", "runs.jsonl")), stripHost(t, filepath.Join(dir, "p2", "runs.jsonl")))
	traces, err := filepath.Glob(filepath.Join(dir, "p1", "traces", "*"))
	require.NoError(t, err)
	require.Len(t, traces, 12)
	for _, tr := range traces {
		a, err := os.ReadFile(tr)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dir, "p2", "traces", filepath.Base(tr)))
		require.NoError(t, err)
		assert.True(t, string(a) == string(b), "trace %s differs", filepath.Base(tr))
	}
	d := decode(t, outs[1])
	require.Len(t, d.Runs, 12)
	for i, r := range d.Runs {
		assert.Equal(t, i, r.Index)
	}
	// The lines that end runs too come in index order.
	_, _, stderr := hilchaos(t, "run", "../../campaigns/overnight-soak.yaml", "--duration", "5s", "--repeat", "6", "--parallel", "2")
	var idx []string
	for _, l := range strings.Split(stderr, "\n") {
		// "run 3/6: index 2 ...", a run's end; "run index 2 seed ...: started"
		// lines come as runs start, in any order.
		if f := strings.Fields(l); len(f) > 3 && f[0] == "run" && strings.Contains(f[1], "/") {
			idx = append(idx, f[3])
		}
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5"}, idx)
}
