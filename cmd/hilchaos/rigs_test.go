package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rigs check opens every rig, reads its banner, and prints a health table;
// an unreachable rig is a row that says why, and exit 3.
func TestRigsCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "board")
	srv := serve(t, "--pty", "--mutex", "inherit", "--link", link)
	_ = srv
	inv := filepath.Join(dir, "rigs.yaml")
	require.NoError(t, os.WriteFile(inv, []byte(`rigs:
  - name: sim-a
    target: sim://pathfinder?mutex=inherit
    labels: {board: sim}
  - name: pty-b
    target: serial://`+link+`
    labels: {board: pty}
  - name: gone
    target: serial://`+filepath.Join(dir, "nothing")+`
    labels: {board: pty}
`), 0o644))
	code, out, errs := hilchaos(t, "rigs", "check", inv, "--wait", "1s")
	assert.Equal(t, ExitInfra, code, errs)
	assert.Contains(t, errs, "1 rig could not be reached")
	assert.Regexp(t, `\| sim-a +\| sim://pathfinder\?mutex=inherit +\| board=sim +\| ok +\| pathfinder-model`, out)
	assert.Regexp(t, `\| pty-b +\| serial://\S+ +\| board=pty +\| ok +\| pathfinder-model \S+ +\| \S+ +\| (POR|SW \(after RS\)) +\| 7 tasks, 1 locks`, out)
	assert.Regexp(t, `\| gone .*\| DOWN .*no such file or directory`, out)
	assert.Contains(t, out, "2 of 3 rig(s) healthy")

	code, out, errs = hilchaos(t, "rigs", "check", inv, "--wait", "1s", "--labels", "board=sim")
	assert.Equal(t, ExitOK, code, errs)
	assert.Contains(t, out, "1 of 1 rig(s) healthy")

	// An invalid inventory is exit 2, naming the file and field.
	require.NoError(t, os.WriteFile(inv, []byte("rigs:\n  - name: a\n    target: sim://pathfinder\n    flash: [prog]\n"), 0o644))
	code, _, errs = hilchaos(t, "rigs", "check", inv)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, inv+": rigs[0].flash: never names {firmware}")
	code, _, errs = hilchaos(t, "run", pathfinder, "--rigs", inv)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "rigs[0].flash")
}

// --metrics-addr serves Prometheus metrics while the campaign runs; a bad
// address is a usage error.
func TestRunMetricsAddr(t *testing.T) {
	code, _, errs := hilchaos(t, "run", pathfinder, "--target", "sim://pathfinder?mutex=inherit", "--duration", "2s", "--repeat", "2", "--metrics-addr", "127.0.0.1:0")
	assert.Equal(t, ExitOK, code, errs)
	assert.Regexp(t, `metrics: http://127\.0\.0\.1:\d+/metrics`, errs)
	code, _, errs = hilchaos(t, "run", pathfinder, "--duration", "2s", "--metrics-addr", "256.0.0.1:x")
	assert.Equal(t, ExitInvalid, code, errs)
	assert.Contains(t, errs, "--metrics-addr 256.0.0.1:x")
}
