package conform_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/conform"
	"github.com/hilchaos/hilchaos/harness/conform/conformtest"
	"github.com/hilchaos/hilchaos/targets"
	_ "github.com/hilchaos/hilchaos/targets/sim"
)

func open(t *testing.T, url string) targets.Target {
	t.Helper()
	tg, err := targets.Open(url, targets.Options{Seed: 1, Trace: 1})
	require.NoError(t, err)
	t.Cleanup(func() { tg.Close() })
	return tg
}

// TestReferenceConforms: the reference firmware passes every rule that
// applies to the protocol version it announces, and a version 2 board is
// checked on every rule.
func TestReferenceConforms(t *testing.T) {
	for _, url := range []string{"sim://pathfinder", "sim://pathfinder?mutex=inherit"} {
		rep, err := conform.Run(context.Background(), open(t, url), conform.Options{})
		require.NoError(t, err, url)
		assert.Empty(t, rep.Failed(), "%s: %+v", url, rep.Results)
		require.Len(t, rep.Results, len(conform.Rules))
		for _, r := range rep.Results {
			if !r.V2 || rep.Proto >= 2 {
				assert.Equal(t, conform.Pass, r.Status, "%s: %s: %s", url, r.ID, r.Detail)
			}
		}
	}
}

// TestBrokenBoardsFailTheirRule: each deliberately broken board fails the
// rule its flaw breaks, and only that rule; the others still pass.
func TestBrokenBoardsFailTheirRule(t *testing.T) {
	for _, flaw := range conformtest.Flaws {
		t.Run(string(flaw), func(t *testing.T) {
			rep, err := conform.Run(context.Background(), conformtest.New(open(t, "sim://pathfinder"), flaw), conform.Options{})
			require.NoError(t, err)
			want := []string{conformtest.Breaks[flaw]}
			if flaw == conformtest.ForgetIDs && rep.Proto < 2 {
				want = nil // a version 1 board need not remember ids
			}
			assert.Equal(t, want, rep.Failed(), "%+v", rep.Results)
			res, ok := rep.Result(conformtest.Breaks[flaw])
			require.True(t, ok)
			if len(want) > 0 {
				assert.NotEmpty(t, res.Detail, "a failure says what was seen")
			}
			passed := rep.Count(conform.Pass)
			assert.GreaterOrEqual(t, passed, 15, "the other rules still pass")
		})
	}
}

// TestAllFlawsAtOnce: a board with every flaw fails every one of their
// rules in one run.
func TestAllFlawsAtOnce(t *testing.T) {
	rep, err := conform.Run(context.Background(), conformtest.New(open(t, "sim://pathfinder"), conformtest.Flaws...), conform.Options{})
	require.NoError(t, err)
	for _, flaw := range conformtest.Flaws {
		if flaw == conformtest.ForgetIDs && rep.Proto < 2 {
			continue
		}
		assert.True(t, slices.Contains(rep.Failed(), conformtest.Breaks[flaw]), "%s: %v", flaw, rep.Failed())
	}
}

// TestSilentBoardIsUnreachable: not a byte from the board is an
// infrastructure error, not a list of failed rules.
func TestSilentBoardIsUnreachable(t *testing.T) {
	rep, err := conform.Run(context.Background(), silent{open(t, "sim://pathfinder")}, conform.Options{})
	var ie *conform.InfraError
	require.ErrorAs(t, err, &ie)
	assert.ErrorIs(t, err, targets.ErrUnreachable)
	assert.Empty(t, rep.Failed(), "nothing is blamed on the board")
}

// silent is a board whose transmit line is cut.
type silent struct{ targets.Target }

func (s silent) Read(p []byte) (int, error) {
	n, err := s.Target.Read(p)
	_ = n
	return 0, err
}

func (s silent) Now() time.Time { return targets.ClockOf(s.Target).Now() }

// TestDocListsEveryRule: docs/CONFORM.md has a row for every rule, with
// its section.
func TestDocListsEveryRule(t *testing.T) {
	b, err := os.ReadFile("../../docs/CONFORM.md")
	require.NoError(t, err)
	for _, r := range conform.Rules {
		assert.Contains(t, string(b), fmt.Sprintf("| `%s` | %s |", r.ID, r.Section), r.ID)
	}
}

// TestConsoleIsNoFault: a board that prints console lines between frames
// conforms: console text is not noise.
func TestConsoleIsNoFault(t *testing.T) {
	rep, err := conform.Run(context.Background(), conformtest.New(open(t, "sim://pathfinder"), conformtest.Console), conform.Options{})
	require.NoError(t, err)
	assert.Empty(t, rep.Failed(), "%+v", rep.Results)
}

// TestVersion1Board: a board whose banner says version 1 and that does not
// know ID is judged on the version 1 rules only, and passes them.
func TestVersion1Board(t *testing.T) {
	rep, err := conform.Run(context.Background(), conformtest.New(open(t, "sim://pathfinder"), conformtest.V1), conform.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Proto)
	assert.Empty(t, rep.Failed(), "%+v", rep.Results)
	for _, r := range rep.Results {
		if r.V2 {
			assert.Equal(t, conform.Skip, r.Status, r.ID)
		} else {
			assert.Equal(t, conform.Pass, r.Status, "%s: %s", r.ID, r.Detail)
		}
	}
}
