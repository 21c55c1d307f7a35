package main

// End-to-end tests of the rig pool and of rig-error retries, on real
// pseudo-terminal boards (`firmware serve --pty` children). The runs are
// real time, so they are short (1-2 s of board time each).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortCampaign is campaigns/pathfinder.yaml with a reconnect window of
// reconnect and min_jobs 1, written into dir.
func shortCampaign(t *testing.T, dir string, reconnect time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(pathfinder)
	require.NoError(t, err)
	path := filepath.Join(dir, "campaign.yaml")
	// Runs of a second or two: the evidence rule asks for 1 job per
	// checked task, not the default 10 (bc_dist runs every 125 ms... but
	// imaging's cycle is longer than a short run).
	require.NoError(t, os.WriteFile(path, append(b, fmt.Sprintf("\ntimeouts:\n  reconnect: %s\nmin_jobs: 1\n", reconnect)...), 0o644))
	return path
}

// ptyRigs starts n `firmware serve --pty` boards, each behind a symlink in
// dir, and writes an inventory naming them rig-0... It returns the
// inventory's path and the servers.
func ptyRigs(t *testing.T, dir string, n int, mutex string, maxErrors int) (string, []*server) {
	t.Helper()
	var inv bytes.Buffer
	inv.WriteString("rigs:\n")
	srvs := make([]*server, n)
	for i := range n {
		link := filepath.Join(dir, fmt.Sprintf("board-%d", i))
		srvs[i] = serve(t, "--pty", "--mutex", mutex, "--link", link)
		fmt.Fprintf(&inv, "  - name: rig-%d\n    target: serial://%s\n    labels: {board: pathfinder, slot: \"%d\"}\n    max_consecutive_errors: %d\n", i, link, i, maxErrors)
	}
	path := filepath.Join(dir, fmt.Sprintf("rigs-%d.yaml", n))
	require.NoError(t, os.WriteFile(path, inv.Bytes(), 0o644))
	warmUp(t, path)
	return path, srvs
}

// warmUp reads every rig's power-on banner (rigs check), as a lab checks
// its rigs before a night: a banner still waiting in a new PTY when a run
// starts counts as a reset in that run.
func warmUp(t *testing.T, inv string) {
	t.Helper()
	code, out, errs := hilchaos(t, "rigs", "check", inv, "--wait", "1s")
	require.Equal(t, ExitOK, code, "%s\n%s", out, errs)
}

// poolDoc is the part of a run document about rigs.
type poolDoc struct {
	Verdict string `json:"verdict"`
	Runs    []struct {
		Index   int     `json:"index"`
		Verdict string  `json:"verdict"`
		Score   float64 `json:"score"`
		Target  string  `json:"target"`
		Resets  struct {
			Watchdog int `json:"watchdog"`
			Hang     int `json:"hang"`
		} `json:"resets"`
		Inversions int `json:"inversions"`
		Rig        *struct {
			Name   string `json:"name"`
			Target string `json:"target"`
		} `json:"rig"`
		Attempts []struct {
			Rig   string `json:"rig"`
			Error string `json:"error"`
		} `json:"attempts"`
	} `json:"runs"`
	RigErrors []struct {
		Index     int    `json:"index"`
		Rig       string `json:"rig"`
		Recovered bool   `json:"recovered"`
	} `json:"rig_errors"`
	Rigs []struct {
		Name        string `json:"name"`
		Runs        int    `json:"runs"`
		Errors      int    `json:"errors"`
		Quarantined bool   `json:"quarantined"`
	} `json:"rigs"`
}

func decodePool(t *testing.T, s string) poolDoc {
	t.Helper()
	var d poolDoc
	require.NoError(t, json.Unmarshal([]byte(s), &d), s)
	return d
}

// Four PTY boards in a rigs.yaml: a 12-run campaign is done on all four,
// each record names its rig, and the outcome is the same as on one rig.
func TestPoolOfFourPTYBoards(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	camp := shortCampaign(t, dir, 5*time.Second)
	// The fixed firmware (inherit): its runs do not race a watchdog, so
	// each run's figures can be compared between the two invocations.
	four, _ := ptyRigs(t, dir, 4, "inherit", 3)
	args := []string{"run", camp, "--duration", "1s", "--repeat", "12", "--format", "json"}
	start := time.Now()
	code, out, errs := hilchaos(t, append(args, "--rigs", four)...)
	wall4 := time.Since(start)
	require.Equal(t, ExitOK, code, "stderr: %s", errs)
	d := decodePool(t, out)
	require.Len(t, d.Runs, 12)
	used := map[string]int{}
	for i, r := range d.Runs {
		assert.Equal(t, i, r.Index, "records in index order")
		require.NotNil(t, r.Rig, "run %d names its rig", i)
		used[r.Rig.Name]++
		assert.Equal(t, "rigs:"+four, r.Target)
	}
	assert.Len(t, used, 4, "every rig did runs: %v", used)
	require.Len(t, d.Rigs, 4)
	for _, h := range d.Rigs {
		assert.Equal(t, used[h.Name], h.Runs)
		assert.False(t, h.Quarantined)
	}

	// The same plan on one rig (a --labels selection of the same file).
	start = time.Now()
	code1, out1, errs1 := hilchaos(t, append(args, "--rigs", four, "--labels", "slot=0")...)
	wall1 := time.Since(start)
	require.Equal(t, ExitOK, code1, errs1)
	d1 := decodePool(t, out1)
	require.Len(t, d1.Runs, 12)
	for i := range d.Runs {
		a, b := d.Runs[i], d1.Runs[i]
		// Real-time boards draw execution times from their own seeds,
		// not the run's: the verdicts must agree, the figures may not.
		assert.Equal(t, b.Verdict, a.Verdict, "run %d: %+v vs %+v", i, a, b)
		if a.Score != b.Score || a.Resets != b.Resets {
			t.Logf("run %d: four rigs score %.1f resets %+v, one rig score %.1f resets %+v", i, a.Score, a.Resets, b.Score, b.Resets)
		}
		assert.Equal(t, "rig-0", b.Rig.Name)
	}
	assert.Equal(t, d1.Verdict, d.Verdict)
	t.Logf("12 runs of 1 s: four rigs %v, one rig %v (%.2fx)", wall4.Round(time.Millisecond), wall1.Round(time.Millisecond), wall1.Seconds()/wall4.Seconds())
}

// One of four boards is killed mid-campaign: its run is retried on another
// rig, the rig is quarantined, the campaign completes, and the exit status
// is the firmware's (1), not the rig's (3).
func TestPoolBoardKilledMidCampaign(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	camp := shortCampaign(t, dir, time.Second)
	inv, srvs := ptyRigs(t, dir, 4, "none", 2)
	done := runInBackground(t, "run", camp, "--duration", "2s", "--repeat", "12", "--format", "json", "--rigs", inv)
	time.Sleep(1500 * time.Millisecond) // mid-run (sequencing only: nothing is measured)
	os.Remove(filepath.Join(dir, "board-2"))
	srvs[2].kill()
	r := done.wait(t, "the campaign hangs after a board was killed")
	require.Equal(t, ExitFail, r.code, "the firmware's verdict, not the rig's; stderr: %s", r.errs)
	d := decodePool(t, r.out)
	require.Len(t, d.Runs, 12)
	retried := false
	for i, run := range d.Runs {
		assert.Equal(t, i, run.Index)
		assert.Equal(t, "fail", run.Verdict, "run %d", i)
		require.NotNil(t, run.Rig)
		assert.NotEqual(t, "rig-2", run.Rig.Name, "run %d was done on the dead rig", i)
		for _, a := range run.Attempts {
			assert.Equal(t, "rig-2", a.Rig)
			retried = true
		}
	}
	assert.True(t, retried, "the killed rig's run was retried elsewhere")
	require.Len(t, d.Rigs, 4)
	assert.True(t, d.Rigs[2].Quarantined, "the dead rig is quarantined: %+v", d.Rigs[2])
	assert.Equal(t, 2, d.Rigs[2].Errors)
	for _, e := range d.RigErrors {
		assert.True(t, e.Recovered)
	}
	assert.Contains(t, r.out, "rig-2")
}

// A night survives a flaky moment: run 1 of 3 loses its board (the port is
// gone and comes back after the reconnect window). Runs 0 and 2 are done,
// run 1 is retried, and the rig error is reported apart.
func TestRigErrorRetriedOnPTY(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	camp := shortCampaign(t, dir, time.Second)
	link := filepath.Join(dir, "board")
	a := serve(t, "--pty", "--mutex", "inherit", "--link", link)
	out := filepath.Join(dir, "out")
	done := runInBackground(t, "run", camp, "--target", "serial://"+link, "--duration", "2s", "--repeat", "3", "--out", out)
	// Wait for run 0's record: run 1 is then under way.
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(out, "runs.jsonl"))
		if bytes.Count(b, []byte("\n")) >= 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "run 0 never stored")
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond)
	os.Remove(link)
	a.kill()
	time.Sleep(1200 * time.Millisecond) // longer than the reconnect window: a rig error
	// The board comes back: a new one, whose power-on banner is read
	// (rigs check) before it appears at the rig's path, as a board that
	// has been up a while would.
	fresh := filepath.Join(dir, "fresh")
	serve(t, "--pty", "--mutex", "inherit", "--link", fresh)
	inv := filepath.Join(dir, "fresh.yaml")
	require.NoError(t, os.WriteFile(inv, []byte("rigs:\n  - name: fresh\n    target: serial://"+fresh+"\n"), 0o644))
	warmUp(t, inv)
	require.NoError(t, os.Rename(fresh, link))
	r := done.wait(t, "the campaign hangs after the board went away")
	// The retried run's own verdict is the driver's business: on a board
	// that has just powered on, its banner can count as a reset and cost
	// the run its board time (inconclusive, exit 3). It is never a rig
	// error, and never a stayed error.
	require.Contains(t, []int{ExitOK, ExitInfra}, r.code, "stderr: %s\n%s", r.errs, r.out)
	assert.NotContains(t, r.errs, "ended in a rig error after every try")
	assert.Contains(t, r.out, "rig errors (1; not counted against the firmware)")
	assert.Contains(t, r.out, "run 1: ")
	assert.Contains(t, r.out, "not back within the reconnect window of 1s")
	assert.Contains(t, r.out, "[retried, done]")
	recs, err := os.ReadFile(filepath.Join(out, "runs.jsonl"))
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(recs), []byte("\n"))
	require.Len(t, lines, 3)
	var r1 struct {
		Index    int    `json:"index"`
		Verdict  string `json:"verdict"`
		Attempts []struct {
			Error string `json:"error"`
		} `json:"attempts"`
	}
	require.NoError(t, json.Unmarshal(lines[1], &r1))
	assert.Equal(t, 1, r1.Index)
	assert.NotEqual(t, "error", r1.Verdict)
	for _, i := range []int{0, 2} {
		var r struct {
			Verdict string `json:"verdict"`
		}
		require.NoError(t, json.Unmarshal(lines[i], &r))
		assert.Equal(t, "pass", r.Verdict, "run %d", i)
	}
	require.Len(t, r1.Attempts, 1)
	assert.Contains(t, r1.Attempts[0].Error, "reconnect window")
}

// --firmware with an ELF whose GNU build id is not the one the board
// reports: a rig error naming both ids (exit 3), after the rig's own flash
// argv ran with the image.
func TestFirmwareBuildIDMismatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "app.c")
	require.NoError(t, os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644))
	image := filepath.Join(dir, "app.elf")
	b, err := exec.Command("gcc", "-o", image, src, "-Wl,--build-id=0x0123456789abcdef").CombinedOutput()
	require.NoError(t, err, "gcc builds the test image: %s", b)
	link := filepath.Join(dir, "board")
	serve(t, "--pty", "--mutex", "inherit", "--link", link)
	camp := shortCampaign(t, dir, time.Second)
	c, err := os.ReadFile(camp)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(camp, append(c, "on_rig_error: skip\n"...), 0o644)) // no retry: each try takes a boot
	inv := filepath.Join(dir, "rigs.yaml")
	require.NoError(t, os.WriteFile(inv, []byte(`rigs:
  - name: bench-1
    target: serial://`+link+`
    flash: [cp, "{firmware}", "`+filepath.Join(dir, "flashed.elf")+`"]
`), 0o644))
	code, out, errs := hilchaos(t, "run", camp, "--rigs", inv, "--firmware", image, "--duration", "1s", "--repeat", "1", "--format", "json")
	require.Equal(t, ExitInfra, code, "stderr: %s", errs)
	assert.Contains(t, errs, `the board reports build id "go-ref-1"`)
	assert.Contains(t, errs, `has build id "0123456789abcdef"`)
	flashed, err := os.ReadFile(filepath.Join(dir, "flashed.elf"))
	require.NoError(t, err, "the rig's flash argv ran")
	orig, _ := os.ReadFile(image)
	assert.Equal(t, orig, flashed)
	d := decodePool(t, out)
	require.Len(t, d.Runs, 1)
	assert.Equal(t, "error", d.Runs[0].Verdict)

	// An image with no build id is refused before anything runs.
	nobuild := filepath.Join(dir, "nobuild.elf")
	b, err = exec.Command("gcc", "-o", nobuild, src, "-Wl,--build-id=none").CombinedOutput()
	require.NoError(t, err, "%s", b)
	code, _, errs = hilchaos(t, "run", camp, "--rigs", inv, "--firmware", nobuild, "--duration", "1s", "--repeat", "1")
	assert.Equal(t, ExitInvalid, code)
	assert.Contains(t, errs, "no GNU build id")
}
