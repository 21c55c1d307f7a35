package farm

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const good = `
rigs:
  - name: bench-1
    target: serial:///dev/ttyACM0
    labels: {board: mps2-an385, rev: b}
    flash: [openocd, -f, board.cfg, -c, "program {firmware} verify reset exit"]
    power: [uhubctl, -l, "1-1", -p, "2", -a, cycle]
    max_consecutive_errors: 2
  - name: bench-2
    target: tcp://lab-2:2000
    labels: {board: mps2-an385, rev: c}
`

func TestParseInventory(t *testing.T) {
	inv, err := Parse("rigs.yaml", []byte(good))
	require.NoError(t, err)
	require.Len(t, inv.Rigs, 2)
	r := inv.Rigs[0]
	assert.Equal(t, "bench-1", r.Name)
	assert.Equal(t, map[string]string{"board": "mps2-an385", "rev": "b"}, r.Labels)
	assert.Equal(t, 2, r.MaxConsecutiveErrors)
	assert.Equal(t, DefaultMaxConsecutiveErrors, inv.Rigs[1].MaxConsecutiveErrors)
	assert.Equal(t, DefaultCommandTimeout, inv.Rigs[1].CommandTimeout)
	sel, err := ParseSelector("board=mps2-an385, rev=c")
	require.NoError(t, err)
	got := inv.Select(sel)
	require.Len(t, got, 1)
	assert.Equal(t, "bench-2", got[0].Name)
	assert.Len(t, inv.Select(Selector{}), 2)
	assert.Equal(t, "board=mps2-an385,rev=c", sel.String())
}

// Every problem is reported, each naming the file and the field path.
func TestParseInventoryRejects(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`rigs: [{name: a, target: sim://x, colour: red}]`, "rigs[0].colour: unknown key"},
		{`rig: []`, "rig: unknown key"},
		{`rigs: []`, "rigs: required"},
		{``, "rigs: required"},
		{`rigs: [{target: sim://x}]`, "rigs[0].name: required"},
		{`rigs: [{name: a}]`, "rigs[0].target: required"},
		{`rigs: [{name: a, target: sim://x}, {name: a, target: sim://y}]`, `rigs[1].name: "a" is also rigs[0]`},
		{`rigs: [{name: a, target: sim://x}, {name: b, target: sim://x}]`, `rigs[1].target: "sim://x" is also rigs[0]'s`},
		{`rigs: [{name: a, target: sim://x, flash: [st-flash, write, app.bin]}]`, "rigs[0].flash: never names {firmware}"},
		{`rigs: [{name: a, target: sim://x, flash: ["prog {firmware} {shell}"]}]`, "rigs[0].flash[0]: unknown placeholder {shell}"},
		{`rigs: [{name: a, target: sim://x, power: ["cycle {firmware}"]}]`, "rigs[0].power[0]: {firmware} is only known to flash"},
		{`rigs: [{name: a, target: sim://x, power: []}]`, "rigs[0].power: an argv list starts with the program"},
		{`rigs: [{name: a, target: sim://x, power: "usbreset 1-1"}]`, `rigs[0].power: "usbreset 1-1" is one string`},
		{`rigs: [{name: a, target: sim://x, flash: "prog {firmware}", colour: red}]`, "rigs[0].colour: unknown key"},
		{`rigs: [{name: a, target: sim://x, max_consecutive_errors: -1}]`, "rigs[0].max_consecutive_errors: must be at least 1"},
		{`rigs: [{name: a, target: sim://x, labels: {rev: 2}}]`, "rigs[0].labels"},
		{`rigs: [{name: a, target: sim://x, command_timeout: 5}]`, "rigs[0].command_timeout"},
		{`rigs: {name: a}`, "rigs"},
		{"rigs:\n  - name: a\n  target: x", "YAML"},
	} {
		_, err := Parse("lab/rigs.yaml", []byte(tc.doc))
		require.Error(t, err, tc.doc)
		assert.Contains(t, err.Error(), "lab/rigs.yaml", tc.doc)
		assert.Contains(t, err.Error(), tc.want, tc.doc)
	}
	// Two problems in one file: both reported.
	_, err := Parse("r.yaml", []byte(`rigs: [{name: a}, {target: sim://x, colour: red}]`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rigs[0].target")
	assert.Contains(t, err.Error(), "rigs[1].colour")
}

func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`rigs: [{name: a, target: sim://x, flash: ["{firmware}{"]}]`))
	f.Add([]byte(`rigs: [{name: a, target: "::"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(inv.Rigs) == 0 {
			t.Fatal("a valid inventory with no rigs")
		}
		for _, r := range inv.Rigs {
			if r.Name == "" || r.Target == "" || r.MaxConsecutiveErrors < 1 || r.CommandTimeout <= 0 {
				t.Fatalf("invalid rig accepted: %+v", r)
			}
		}
	})
}

func TestExpandAndPort(t *testing.T) {
	assert.Equal(t, "/dev/ttyACM0", Port("serial:///dev/ttyACM0?baud=115200"))
	assert.Equal(t, "lab:2000", Port("tcp://lab:2000"))
	got := Expand([]string{"prog", "{firmware}", "--port={port}", "; rm -rf /"}, "a b.elf", "/dev/x")
	assert.Equal(t, []string{"prog", "a b.elf", "--port=/dev/x", "; rm -rf /"}, got)
}

func TestRunCommand(t *testing.T) {
	c, err := Run(context.Background(), []string{"sh", "-c", "echo hello; echo oops >&2; exit 3"}, 10*time.Second)
	require.Error(t, err)
	assert.Equal(t, 3, c.ExitCode)
	assert.Contains(t, c.Output, "hello")
	assert.Contains(t, c.Output, "oops")
	assert.Contains(t, err.Error(), "sh:")
	_, err = Run(context.Background(), []string{"sleep", "10"}, 100*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "killed after 100ms")
	_, err = Run(context.Background(), []string{"/no/such/program"}, time.Second)
	require.Error(t, err)
	c, err = Run(context.Background(), []string{"true"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, c.ExitCode)
}

func TestPoolQuarantine(t *testing.T) {
	p := NewPool([]Rig{{Name: "a", MaxConsecutiveErrors: 2}, {Name: "b", MaxConsecutiveErrors: 2}})
	i, r := p.Acquire(nil)
	assert.Equal(t, 0, i)
	assert.Equal(t, "a", r.Name)
	j, _ := p.Acquire(nil)
	assert.Equal(t, 1, j)
	k, _ := p.Acquire(nil)
	assert.Equal(t, -1, k, "both busy")
	p.Done(0, RigError, "x")
	k, _ = p.Acquire(map[int]bool{0: true})
	assert.Equal(t, -1, k, "a is to be avoided while b is in service")
	p.Done(1, Passed, "")
	k, _ = p.Acquire(map[int]bool{0: true})
	assert.Equal(t, 1, k)
	p.Done(1, Failed, "")
	k, _ = p.Acquire(nil)
	assert.Equal(t, 0, k)
	p.Done(0, RigError, "port gone")
	h := p.Health()
	assert.True(t, h[0].Quarantined)
	assert.Contains(t, h[0].Reason, "port gone")
	assert.Equal(t, 1, p.InService())
	k, _ = p.Acquire(map[int]bool{1: true})
	assert.Equal(t, 1, k, "the only rig in service, although avoided")
}

func TestBuildID(t *testing.T) {
	dir := t.TempDir()
	elfPath := BuildTestELF(t, dir, "deadbeef01")
	id, err := BuildID(elfPath)
	require.NoError(t, err)
	assert.Equal(t, "deadbeef01", id)
	_, err = BuildID(filepath.Join(dir, "none.elf"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x"), []byte("not an elf"), 0o644))
	_, err = BuildID(filepath.Join(dir, "x"))
	assert.ErrorContains(t, err, filepath.Join(dir, "x"))
}

func FuzzGNUBuildID(f *testing.F) {
	f.Add([]byte("\x04\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00GNU\x00\xde\xad\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gnuBuildID(data, binary.LittleEndian)
	})
}
