package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/targets/serial"
)

func withPorts(t *testing.T, ports []serial.PortInfo) {
	old := listPorts
	listPorts = func() ([]serial.PortInfo, error) { return ports, nil }
	t.Cleanup(func() { listPorts = old })
}

func TestPortsNoneIsAnEmptyTable(t *testing.T) {
	withPorts(t, []serial.PortInfo{})
	code, out, errs := hilchaos(t, "ports")
	require.Equal(t, ExitOK, code, errs)
	assert.Contains(t, out, "vid")
	assert.Contains(t, out, "product")
	code, out, _ = hilchaos(t, "ports", "--format", "json")
	require.Equal(t, ExitOK, code)
	assert.JSONEq(t, "[]", out)
}

func TestPortsShowUSBIdentity(t *testing.T) {
	withPorts(t, []serial.PortInfo{
		{Name: "/dev/ttyACM0", USB: true, VID: "2341", PID: "0043", Serial: "95735353", Product: "Arduino Uno"},
		{Name: "/dev/ttyS0"},
	})
	code, out, errs := hilchaos(t, "ports")
	require.Equal(t, ExitOK, code, errs)
	for _, s := range []string{"/dev/ttyACM0", "2341", "0043", "95735353", "Arduino Uno", "serial://usb/2341:0043/95735353", "serial:///dev/ttyS0"} {
		assert.Contains(t, out, s)
	}
	_, out, _ = hilchaos(t, "ports", "--format", "json")
	var got []serial.PortInfo
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Len(t, got, 2)
	code, _, _ = hilchaos(t, "ports", "--format", "xml")
	assert.Equal(t, ExitInvalid, code)
}

// The real enumerator runs too: whatever this machine has, it is a table.
func TestPortsOnThisMachine(t *testing.T) {
	code, _, errs := hilchaos(t, "ports")
	assert.Equal(t, ExitOK, code, errs)
}
