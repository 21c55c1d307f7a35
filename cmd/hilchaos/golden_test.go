package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden files (and the README sample) from what the
// code prints now: go test ./cmd/hilchaos -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files and the README sample output")

// golden compares got with testdata/golden/name, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./cmd/hilchaos -run Golden -update")
	require.Equal(t, string(want), got, "%s differs: if the change is intended, rerun with -update and review the diff", path)
}

// The terminal table and the JSON document of a fixed campaign and seed,
// byte for byte.
func TestGoldenTableAndJSON(t *testing.T) {
	args := []string{"run", pathfinder, "--repeat", "2", "--duration", "5s"}
	code, table, errs := hilchaos(t, args...)
	require.Equal(t, ExitFail, code, errs)
	golden(t, "run-table.txt", table)
	code, doc, errs := hilchaos(t, append(args, "--format", "json")...)
	require.Equal(t, ExitFail, code, errs)
	golden(t, "run.json", doc)

	// A sweep's table, with its value column.
	code, sweep, errs := hilchaos(t, "run", "../../campaigns/breaking-point.yaml", "--duration", "3s")
	require.Contains(t, []int{ExitOK, ExitFail}, code, errs)
	golden(t, "breaking-point-table.txt", sweep)
}

// The README's sample output is what its main command prints.
func TestGoldenREADME(t *testing.T) {
	t.Chdir("../..")
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	text := string(readme)
	for _, sample := range []struct {
		marker string // the text just before the sample's code block
		args   []string
		last   bool // the sample shows only the last line
	}{
		{"Mars, and the command exits 1:\n", []string{"run", "campaigns/pathfinder.yaml"}, false},
		{"$ go run ./cmd/hilchaos run campaigns/pathfinder.yaml --target 'sim://pathfinder?mutex=inherit'\n", []string{"run", "campaigns/pathfinder.yaml", "--target", "sim://pathfinder?mutex=inherit"}, true},
	} {
		at := strings.Index(text, sample.marker)
		require.GreaterOrEqual(t, at, 0, "README.md has no %q", sample.marker)
		start := at + len(sample.marker)
		for start < len(text) && text[start] == '\n' {
			start++
		}
		if !sample.last {
			require.True(t, strings.HasPrefix(text[start:], "```\n"), "a code block follows %q", sample.marker)
			start += len("```\n")
		}
		end := start + strings.Index(text[start:], "```\n")
		require.Greater(t, end, start)
		_, out, _ := hilchaos(t, sample.args...)
		got := out
		if sample.last {
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			got = lines[len(lines)-1] + "\n"
		}
		if *update {
			text = text[:start] + got + text[end:]
			continue
		}
		require.Equal(t, text[start:end], got, "README.md sample after %q differs from what `hilchaos %s` prints: rerun with -update", sample.marker, strings.Join(sample.args, " "))
	}
	if *update {
		require.NoError(t, os.WriteFile("README.md", []byte(text), 0o644))
	}
}
