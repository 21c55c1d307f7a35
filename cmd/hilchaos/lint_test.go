package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// want reads the "# want: ..." line a broken campaign starts with.
func want(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	w, ok := strings.CutPrefix(sc.Text(), "# want: ")
	require.True(t, ok, "%s must start with '# want: '", path)
	return w
}

func badCampaigns(t *testing.T) []string {
	files, err := filepath.Glob("../../harness/testdata/bad/*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15)
	return files
}

func TestLintAndRunRejectEveryBrokenCampaign(t *testing.T) {
	for _, f := range badCampaigns(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w := want(t, f)
			code, stdout, stderr := hilchaos(t, "campaign", "lint", f)
			assert.Equal(t, ExitInvalid, code, stderr)
			assert.Contains(t, stdout, f+": ", "lint names the file")
			assert.Contains(t, stdout, w, "lint names the field and the reason")

			out := filepath.Join(t.TempDir(), "results")
			code, stdout, stderr = hilchaos(t, "run", f, "--out", out)
			assert.Equal(t, ExitInvalid, code, stderr)
			assert.Contains(t, stderr, f, "run names the file")
			assert.Contains(t, stderr, w, "run names the field and the reason")
			assert.Empty(t, stdout, "no run started")
			_, err := os.Stat(out)
			assert.True(t, os.IsNotExist(err), "no results directory was created")
		})
	}
}

func TestLintPrintsEveryProblemOfEveryFile(t *testing.T) {
	files := badCampaigns(t)
	code, stdout, _ := hilchaos(t, append([]string{"campaign", "lint", "../../campaigns/pathfinder.yaml"}, files...)...)
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, stdout, "pathfinder.yaml: ok")
	for _, f := range files {
		assert.Contains(t, stdout, f+": ", "every file is reported")
		assert.Contains(t, stdout, want(t, f))
	}
	lines := strings.Count(stdout, "\n")
	assert.GreaterOrEqual(t, lines, len(files)+1)
}

func TestLintAcceptsTheBundledCampaigns(t *testing.T) {
	files, err := filepath.Glob("../../campaigns/*.yaml")
	require.NoError(t, err)
	code, stdout, stderr := hilchaos(t, append([]string{"campaign", "lint"}, files...)...)
	assert.Equal(t, ExitOK, code, "%s%s", stdout, stderr)
	for _, f := range files {
		assert.Contains(t, stdout, f+": ok")
	}
}

func TestEnvironmentOverridesAreTyped(t *testing.T) {
	t.Setenv("HILCHAOS_DURATION", "2s")
	t.Setenv("HILCHAOS_TARGET", "sim://pathfinder?mutex=inherit")
	t.Setenv("HILCHAOS_SEED", "7")
	t.Setenv("HILCHAOS_REPEAT", "1")
	code, out, stderr := hilchaos(t, "run", pathfinder, "--format", "json")
	require.Equal(t, ExitOK, code, stderr)
	var d struct {
		Target string `json:"target"`
		Seed   uint64 `json:"seed"`
		Runs   []struct {
			DurationUS int64 `json:"duration_us"`
		} `json:"runs"`
	}
	require.NoError(t, jsonUnmarshal(out, &d))
	assert.Equal(t, "sim://pathfinder?mutex=inherit", d.Target)
	assert.EqualValues(t, 7, d.Seed)
	require.Len(t, d.Runs, 1)
	assert.EqualValues(t, 2_000_000, d.Runs[0].DurationUS)

	// A flag wins over the environment.
	code, out, stderr = hilchaos(t, "run", pathfinder, "--format", "json", "--seed", "8")
	require.Equal(t, ExitOK, code, stderr)
	require.NoError(t, jsonUnmarshal(out, &d))
	assert.EqualValues(t, 8, d.Seed)

	for _, bad := range []struct{ name, value, want string }{
		{"HILCHAOS_DURATION", "10", `HILCHAOS_DURATION="10"`},
		{"HILCHAOS_SEED", "-1", `HILCHAOS_SEED="-1"`},
		{"HILCHAOS_REPEAT", "lots", `HILCHAOS_REPEAT="lots"`},
		{"HILCHAOS_RESUME", "maybe", `HILCHAOS_RESUME="maybe"`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			t.Setenv(bad.name, bad.value)
			code, stdout, stderr := hilchaos(t, "run", pathfinder)
			assert.Equal(t, ExitInvalid, code)
			assert.Contains(t, stderr, bad.want)
			assert.Empty(t, stdout)
		})
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
