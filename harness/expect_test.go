package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCampaignExpectResets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: x\nduration: 1s\nexpect_resets: [watchdog, hang]\n"), 0o644))
	c, err := LoadCampaign(path, Overrides{})
	require.NoError(t, err)
	require.Equal(t, []string{"watchdog", "hang"}, c.ExpectResets)
	require.True(t, c.expectsReset(ResetWatchdog))
	require.False(t, c.expectsReset(ResetSoftware))
}
