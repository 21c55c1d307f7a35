package harness

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/targets"
)

// flakyrig:// is a simulated board (sim://pathfinder?mutex=inherit) whose
// opens fail as the test scripts them: flakyrig://NAME fails its opens whose
// number (1, 2, ...) is in failOn[NAME], or every open when dead[NAME].
var flakyRig = struct {
	sync.Mutex
	opens  map[string]int
	failOn map[string]map[int]bool
	dead   map[string]bool
}{opens: map[string]int{}, failOn: map[string]map[int]bool{}, dead: map[string]bool{}}

func init() {
	targets.Register("flakyrig", func(u *url.URL, opt targets.Options) (targets.Target, error) {
		flakyRig.Lock()
		name := u.Host
		flakyRig.opens[name]++
		fail := flakyRig.dead[name] || flakyRig.failOn[name][flakyRig.opens[name]]
		flakyRig.Unlock()
		if fail {
			return nil, errors.New("port gone: " + name)
		}
		return targets.Open("sim://pathfinder?mutex=inherit", opt)
	})
}

func resetFlakyRig(failOn map[string]map[int]bool, dead ...string) {
	flakyRig.Lock()
	defer flakyRig.Unlock()
	flakyRig.opens = map[string]int{}
	flakyRig.failOn = failOn
	flakyRig.dead = map[string]bool{}
	for _, d := range dead {
		flakyRig.dead[d] = true
	}
}

func flakyCampaign(t *testing.T, target string, runs int, policy string) *Campaign {
	t.Helper()
	c, err := LoadCampaign("../campaigns/pathfinder.yaml", Overrides{Duration: 2 * time.Second, Repeat: runs, Target: "sim://pathfinder?mutex=inherit"})
	require.NoError(t, err)
	c.Target = target
	if policy != "" {
		c.OnRigError, err = ParseRigErrorPolicy(policy)
		require.NoError(t, err)
	}
	return c
}

func verdicts(sum *Summary) []string {
	var v []string
	for _, r := range sum.Runs {
		v = append(v, r.Verdict)
	}
	return v
}

// A night survives a flakyRig moment: run 1 of 3 hits a rig error; runs 0, 2
// and the retry of 1 are done, the record of run 1 lists the failed try,
// the summary lists the rig error apart, and the campaign passes.
func TestRigErrorRetried(t *testing.T) {
	resetFlakyRig(map[string]map[int]bool{"one": {2: true}})
	c := flakyCampaign(t, "flakyrig://one", 3, "")
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	sum, err := Execute(context.Background(), c, Options{Store: st})
	require.NoError(t, err)
	assert.Equal(t, []string{Pass, Pass, Pass}, verdicts(sum))
	assert.Equal(t, Pass, sum.Verdict)
	require.Len(t, sum.Runs[1].Attempts, 1)
	assert.Contains(t, sum.Runs[1].Attempts[0].Error, "port gone: one")
	assert.Empty(t, sum.Runs[0].Attempts)
	require.Len(t, sum.RigErrors, 1)
	assert.Equal(t, RigErrorEntry{Index: 1, Error: sum.Runs[1].Attempts[0].Error, Recovered: true}, sum.RigErrors[0])
	recs, _, err := ReadRuns(st.Dir())
	require.NoError(t, err)
	require.Len(t, recs, 3, "each run stored once, the failed try not as a run")
	for i, r := range recs {
		assert.Equal(t, i, r.Index)
	}
	assert.Equal(t, 4, flakyRig.opens["one"])
}

// A run that keeps failing stays in error after "retry 2" (three tries);
// the other runs are still done, and Execute says a run stayed in error.
func TestRigErrorStays(t *testing.T) {
	resetFlakyRig(map[string]map[int]bool{"one": {2: true, 3: true, 4: true}})
	c := flakyCampaign(t, "flakyrig://one", 3, "retry 2")
	sum, err := Execute(context.Background(), c, Options{})
	var stayed *StayedInError
	require.ErrorAs(t, err, &stayed)
	assert.Equal(t, []string{Pass, Error, Pass}, verdicts(sum))
	assert.Len(t, sum.Runs[1].Attempts, 2)
	assert.Len(t, sum.RigErrors, 3)
	assert.Equal(t, 1, stayed.Runs[0].Index)
	assert.Equal(t, Error, sum.Verdict)
}

func TestRigErrorSkipAndAbort(t *testing.T) {
	resetFlakyRig(map[string]map[int]bool{"one": {1: true}})
	sum, err := Execute(context.Background(), flakyCampaign(t, "flakyrig://one", 3, "skip"), Options{})
	var stayed *StayedInError
	require.ErrorAs(t, err, &stayed)
	assert.Equal(t, []string{Error, Pass, Pass}, verdicts(sum), "skip: no retry, the rest is done")

	resetFlakyRig(map[string]map[int]bool{"one": {2: true}})
	sum, err = Execute(context.Background(), flakyCampaign(t, "flakyrig://one", 3, "abort"), Options{})
	var infra *InfraError
	require.ErrorAs(t, err, &infra)
	assert.Equal(t, []string{Pass, Error}, verdicts(sum), "abort: the campaign ends at the rig error")
}

func TestParseRigErrorPolicy(t *testing.T) {
	for in, want := range map[string]RigErrorPolicy{
		"": DefaultRigErrorPolicy, "retry": {OnRigRetry, 2}, "retry 0": {OnRigRetry, 0}, "retry 5": {OnRigRetry, 5},
		"skip": {Mode: OnRigSkip}, "abort": {Mode: OnRigAbort},
	} {
		got, err := ParseRigErrorPolicy(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"retry -1", "retry x", "retry 2 3", "skip 1", "ignore", "retry 02"} {
		_, err := ParseRigErrorPolicy(bad)
		assert.Error(t, err, bad)
	}
}

// A pool of three rigs, one dead: its runs are retried on the others, it
// is quarantined after max_consecutive_errors, every record names the rig
// it was done on, and the records are in index order.
func TestPoolRetriesElsewhereAndQuarantines(t *testing.T) {
	resetFlakyRig(nil, "b")
	rigs := []farm.Rig{
		{Name: "a", Target: "flakyrig://a", MaxConsecutiveErrors: 2},
		{Name: "b", Target: "flakyrig://b", MaxConsecutiveErrors: 2},
		{Name: "c", Target: "flakyrig://c", MaxConsecutiveErrors: 2},
	}
	// Enough runs that the dead rig b is handed a second one while a and
	// c are busy (the pool hands a run to the first free rig, and a
	// simulated run of 2 s takes well under a millisecond).
	const runs = 60
	c := flakyCampaign(t, "rigs:test", runs, "")
	dir := t.TempDir()
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	sum, err := Execute(context.Background(), c, Options{Rigs: farm.NewPool(rigs), Store: st})
	require.NoError(t, err)
	require.Len(t, sum.Runs, runs)
	for i, r := range sum.Runs {
		assert.Equal(t, i, r.Index)
		assert.Equal(t, Pass, r.Verdict)
		require.NotNil(t, r.Rig)
		assert.NotEqual(t, "b", r.Rig.Name, "run %d", i)
		assert.Equal(t, "flakyrig://"+r.Rig.Name, r.Rig.Target)
		assert.Equal(t, "rigs:test", r.Target)
		for _, a := range r.Attempts {
			assert.Equal(t, "b", a.Rig)
		}
	}
	require.Len(t, sum.Rigs, 3)
	hb := sum.Rigs[1]
	assert.True(t, hb.Quarantined)
	assert.Equal(t, 2, hb.Errors)
	assert.Contains(t, hb.Reason, "2 rig errors in a row")
	assert.False(t, sum.Rigs[0].Quarantined)
	assert.Equal(t, runs, sum.Rigs[0].Passed+sum.Rigs[2].Passed)
	assert.Len(t, sum.RigErrors, 2)
	recs, _, err := ReadRuns(filepath.Clean(dir))
	require.NoError(t, err)
	require.Len(t, recs, runs)
}

// A rig with a power argv is power-cycled before it is quarantined, and the
// power cycle is in the record of the try that led to it.
func TestPoolPowerCyclesBeforeQuarantine(t *testing.T) {
	resetFlakyRig(nil, "b")
	rigs := []farm.Rig{
		{Name: "a", Target: "flakyrig://a", MaxConsecutiveErrors: 1},
		{Name: "b", Target: "flakyrig://b", MaxConsecutiveErrors: 1, Power: []string{"true", "{port}"}, CommandTimeout: 10 * time.Second},
	}
	// Enough runs that rig a is still busy when b's power cycle (a
	// process) is over and b takes a run again: a simulated run of 2 s
	// takes well under a millisecond.
	sum, err := Execute(context.Background(), flakyCampaign(t, "rigs:test", 60, ""), Options{Rigs: farm.NewPool(rigs)})
	require.NoError(t, err)
	hb := sum.Rigs[1]
	assert.True(t, hb.Quarantined)
	assert.Equal(t, 1, hb.PowerCycles)
	assert.Equal(t, 2, hb.Errors)
	var cycled *farm.Command
	for _, r := range sum.Runs {
		for _, a := range r.Attempts {
			if a.PowerCycle != nil {
				cycled = a.PowerCycle
			}
		}
	}
	require.NotNil(t, cycled)
	assert.Equal(t, []string{"true", "b"}, cycled.Argv)
	assert.Equal(t, 0, cycled.ExitCode)
}

// Every rig dead: the runs end in error records naming the cause, and the
// campaign ends instead of waiting for a rig forever.
func TestPoolAllQuarantined(t *testing.T) {
	resetFlakyRig(nil, "a", "b")
	rigs := []farm.Rig{{Name: "a", Target: "flakyrig://a", MaxConsecutiveErrors: 1}, {Name: "b", Target: "flakyrig://b", MaxConsecutiveErrors: 1}}
	sum, err := Execute(context.Background(), flakyCampaign(t, "rigs:test", 4, ""), Options{Rigs: farm.NewPool(rigs)})
	var stayed *StayedInError
	require.ErrorAs(t, err, &stayed)
	require.Len(t, sum.Runs, 4)
	for _, r := range sum.Runs {
		assert.Equal(t, Error, r.Verdict)
	}
	assert.Contains(t, sum.Runs[3].Error, "no rig left in service")
}

// --firmware: each rig with a flash argv is flashed once, before its first
// run, with the argv of its own inventory entry; a board reporting another
// build id than the image's is a rig error naming both.
func TestFlashOncePerRigAndBuildID(t *testing.T) {
	dir := t.TempDir()
	image := filepath.Join(dir, "app.elf")
	require.NoError(t, os.WriteFile(image, []byte("image"), 0o644))
	rigs := []farm.Rig{
		{Name: "a", Target: "flakyrig://a", MaxConsecutiveErrors: 3, Flash: []string{"cp", "{firmware}", filepath.Join(dir, "a-{port}.bin")}, CommandTimeout: 10 * time.Second},
		{Name: "b", Target: "flakyrig://b", MaxConsecutiveErrors: 3, Flash: []string{"cp", "{firmware}", filepath.Join(dir, "b-{port}.bin")}, CommandTimeout: 10 * time.Second},
	}
	resetFlakyRig(nil)
	sum, err := Execute(context.Background(), flakyCampaign(t, "rigs:test", 6, ""), Options{Rigs: farm.NewPool(rigs), Firmware: image, FirmwareBuild: "go-ref-1"})
	require.NoError(t, err)
	flashes := map[string]int{}
	for _, r := range sum.Runs {
		assert.Equal(t, Pass, r.Verdict)
		if r.Rig.Flash != nil {
			flashes[r.Rig.Name]++
			assert.Equal(t, 0, r.Rig.Flash.ExitCode)
		}
		assert.Equal(t, "go-ref-1", r.Rig.Build)
	}
	assert.Equal(t, map[string]int{"a": 1, "b": 1}, flashes)
	for _, n := range []string{"a-a.bin", "b-b.bin"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err, "the flash argv ran with {firmware} and {port} expanded")
		assert.Equal(t, "image", string(b))
	}

	// A flash that fails is a rig error: the run goes to the other rig.
	rigs[0].Flash = []string{"false", "{firmware}"}
	sum, err = Execute(context.Background(), flakyCampaign(t, "rigs:test", 2, ""), Options{Rigs: farm.NewPool(rigs), Firmware: image})
	require.NoError(t, err)
	for _, r := range sum.Runs {
		assert.Equal(t, "b", r.Rig.Name)
	}
	require.NotEmpty(t, sum.RigErrors)
	assert.Contains(t, sum.RigErrors[0].Error, "flash: false")

	// The wrong build id: every run stays in error, naming both ids.
	sum, err = Execute(context.Background(), flakyCampaign(t, "rigs:test", 1, "retry 1"), Options{Rigs: farm.NewPool(rigs[1:]), Firmware: image, FirmwareBuild: "deadbeef01"})
	var stayed *StayedInError
	require.ErrorAs(t, err, &stayed)
	assert.Contains(t, sum.Runs[0].Error, `the board reports build id "go-ref-1"`)
	assert.Contains(t, sum.Runs[0].Error, `has build id "deadbeef01"`)
}

// Records are stored on a goroutine of their own while the next runs go
// on. A trace that cannot be written (here a full disk: the run's log is
// /dev/full) stops the campaign with an error naming the file: the runs
// before it are stored and reported, in order, and nothing after it is,
// whatever ran meanwhile.
func TestFullDiskStopsTheCampaign(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	// Enough runs that some are still going when the failure is seen.
	c, err := LoadCampaign("../campaigns/overnight-soak.yaml", Overrides{Repeat: 40, Duration: 10 * time.Second})
	require.NoError(t, err)
	dir := t.TempDir()
	full := filepath.Join(dir, TracePath(c, PlanRun(c, 3)))
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.Symlink("/dev/full", full))
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	fds := openFiles(t)
	var reported []int
	_, err = Execute(context.Background(), c, Options{Store: st, Parallel: 2, Progress: func(done, total int, r *RunRecord) {
		assert.Equal(t, len(reported)+1, done)
		reported = append(reported, r.Index)
	}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), full)
	assert.Contains(t, err.Error(), "no space left on device")
	recs, _, err := ReadRuns(dir)
	require.NoError(t, err)
	var stored []int
	for _, r := range recs {
		stored = append(stored, r.Index)
	}
	assert.Equal(t, []int{0, 1, 2}, stored)
	assert.Equal(t, []int{0, 1, 2}, reported)
	// The traces of the runs that ended after the failure are closed too.
	assert.Equal(t, fds, openFiles(t), "files open before the campaign and after it")
}

// openFiles lists the trace logs this process has open, by descriptor.
func openFiles(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	open := map[string]string{}
	for _, e := range ents {
		if to, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.Contains(to, ".wire.gz") {
			open[e.Name()] = to
		}
	}
	return open
}
