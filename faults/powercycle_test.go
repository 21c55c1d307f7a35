package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPowerCycleFields(t *testing.T) {
	f, errs := Decode(KindPowerCycle, map[string]any{"off": "250ms"})
	require.Empty(t, errs)
	pc := f.(*PowerCycle)
	assert.Equal(t, 250*time.Millisecond, pc.Off)
	_, host := f.(HostFault)
	assert.True(t, host, "the host carries it out")

	f, errs = Decode(KindPowerCycle, nil)
	require.Empty(t, errs, "off defaults to 0")
	assert.Zero(t, f.(*PowerCycle).Off)

	for msg, params := range map[string]map[string]any{
		"off: must not be negative":           {"off": "-1s"},
		"off: 2m0s is beyond the limit of 1m": {"off": "2m"},
		"off: duration 5 has no unit":         {"off": 5},
		"argv: unknown key":                   {"argv": []any{"uhubctl"}},
		"command: unknown key":                {"command": "reboot"},
	} {
		_, errs := Decode(KindPowerCycle, params)
		require.Len(t, errs, 1, msg)
		assert.Contains(t, errs[0].Error(), msg, "a campaign never supplies a command")
	}
}
