package harness

import (
	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/farm"
)

// Verdicts.
const (
	Pass  = "pass"
	Fail  = "fail"
	Error = "error" // the rig failed, not the firmware
)

// ResetCounts counts a run's resets by kind.
type ResetCounts struct {
	Watchdog int `json:"watchdog"`
	Software int `json:"software"`
	PowerOn  int `json:"power_on"`
	Hang     int `json:"hang"`
	Unknown  int `json:"unknown"`
	Expected int `json:"expected"` // resets of a kind the campaign's expect_resets allows
}

// Total is the number of resets of any kind.
func (r ResetCounts) Total() int {
	return r.Watchdog + r.Software + r.PowerOn + r.Hang + r.Unknown + r.Expected
}

// countResets turns the per-kind counts of a run into the record's, moving
// the kinds the campaign allows to Expected.
func countResets(kinds map[string]int, c *Campaign) ResetCounts {
	var rc ResetCounts
	for kind, n := range kinds {
		if c != nil && c.expectsReset(kind) {
			rc.Expected += n
			continue
		}
		switch kind {
		case ResetWatchdog:
			rc.Watchdog += n
		case ResetSoftware:
			rc.Software += n
		case ResetPowerOn:
			rc.PowerOn += n
		case ResetHang:
			rc.Hang += n
		case ResetExpected:
			rc.Expected += n
		default:
			rc.Unknown += n
		}
	}
	return rc
}

// RunRecord is everything known about one run. It is what runs.jsonl
// stores, one record per line, and what every report is derived from.
type RunRecord struct {
	Campaign      string                        `json:"campaign"`
	CampaignHash  string                        `json:"campaign_hash"`
	Index         int                           `json:"index"`
	Seed          uint64                        `json:"seed"`
	CampaignSeed  uint64                        `json:"campaign_seed"` // the campaign seed the run's was derived from
	Target        string                        `json:"target"`
	Reference     string                        `json:"reference"`
	Firmware      Firmware                      `json:"firmware"`
	DurationUS    int64                         `json:"duration_us"`
	Verdict       string                        `json:"verdict"`
	Score         float64                       `json:"score"`
	Resets        ResetCounts                   `json:"resets"`
	ResetLog      []ResetEvent                  `json:"reset_log"`
	Inversions    int                           `json:"inversions"`
	InversionLog  []analyze.Episode             `json:"inversion_log"` // the first analyze.MaxEpisodes
	Tasks         map[string]analyze.TaskResult `json:"tasks"`
	Checks        []CheckResult                 `json:"checks"`
	Deductions    []Deduction                   `json:"deductions"`
	Faults        []PlannedFault                `json:"faults"`
	FaultsSkipped int                           `json:"faults_skipped"`
	Telemetry     Telemetry                     `json:"telemetry"`
	Bounds        []analyze.Bound               `json:"bounds"`          // the timing oracle's bounds per task
	Findings      []analyze.Finding             `json:"findings"`        // observations outside the declared model
	Trace         string                        `json:"trace,omitempty"` // stored wire stream, relative to the results directory
	Error         string                        `json:"error,omitempty"`
	// Link is what the host saw of the link to a real board: the gaps
	// while it was down and the drift between board and host clocks.
	// Absent for the simulator, which owns time.
	Link *LinkInfo `json:"link,omitempty"`
	// Host holds wall-clock facts. It is stored in runs.jsonl but left out
	// of the printed document, which must be identical for the same seed.
	Host *HostInfo `json:"host,omitempty"`
	// Sweep is the sweep value the run used, when the campaign sweeps.
	Sweep *SweepPoint `json:"sweep,omitempty"`
	// CampaignVersion is the campaign file's own version field, if any.
	CampaignVersion string `json:"campaign_version,omitempty"`
	// Rig is the rig of a pool the run was done on (run --rigs).
	Rig *RigInfo `json:"rig,omitempty"`
	// Attempts are earlier tries of the run that ended in a rig error.
	Attempts []Attempt `json:"attempts,omitempty"`
}

// RunKey identifies a run across invocations: a run with the same key
// gives the same record, so --resume can skip it.
type RunKey struct {
	CampaignHash string
	Index        int
	Seed         uint64
	Target       string
	DurationUS   int64
	SweepValue   string
}

// Key is the record's RunKey.
func (r *RunRecord) Key() RunKey {
	k := RunKey{CampaignHash: r.CampaignHash, Index: r.Index, Seed: r.Seed, Target: r.Target, DurationUS: r.DurationUS}
	if r.Sweep != nil {
		k.SweepValue = r.Sweep.Value
	}
	return k
}

// KeyOf is the RunKey run p of campaign c will have.
func KeyOf(c *Campaign, p RunPlan) RunKey {
	k := RunKey{CampaignHash: c.Hash, Index: p.Index, Seed: p.Seed, Target: c.Target, DurationUS: p.Duration.Microseconds()}
	if p.Sweep != nil {
		k.SweepValue = p.Sweep.Value
	}
	return k
}

// HostInfo is what the host knows about a run that the board does not.
type HostInfo struct {
	Harness string `json:"harness"`
	Start   string `json:"start"` // RFC 3339, wall clock
	End     string `json:"end"`
	Name    string `json:"hostname"`
}

// Summary is the campaign-level outcome.
type Summary struct {
	Campaign     string      `json:"campaign"`
	CampaignHash string      `json:"campaign_hash"`
	Target       string      `json:"target"`
	Reference    string      `json:"reference"`
	Seed         uint64      `json:"seed"`
	Verdict      string      `json:"verdict"`
	Score        float64     `json:"score"`
	Passed       int         `json:"passed"`
	Failed       int         `json:"failed"`
	Errors       int         `json:"errors"`
	Runs         []RunRecord `json:"runs"`
	// Resumed counts the runs taken from an earlier, interrupted invocation.
	Resumed int `json:"-"`
	// Interrupted is set when a stop was requested before every run was done.
	Interrupted bool `json:"interrupted,omitempty"`
	// Sweep is what a sweeping campaign learned, per value.
	Sweep *SweepResult `json:"sweep,omitempty"`
	// Requirements lists each requirement the checks cite, with its verdict
	// and evidence.
	Requirements []RequirementResult `json:"requirements,omitempty"`
	// RigErrors lists every rig error, retried or not, apart from the
	// firmware's verdicts.
	RigErrors []RigErrorEntry `json:"rig_errors,omitempty"`
	// Rigs is the rig health table of a campaign run on a pool.
	Rigs []farm.Health `json:"rigs,omitempty"`
}

// LinkInfo describes the host's link to a real board during a run.
type LinkInfo struct {
	Gaps  []LinkGap   `json:"gaps"`
	Clock *ClockDrift `json:"clock,omitempty"`
}

// LinkGap is one stretch where the link was down and the target was
// reconnecting. What the board sent meanwhile is lost; how much is
// unknown (bytes_lost is always null), but sequence gaps after it show up
// in telemetry.lost.
type LinkGap struct {
	Start      string  `json:"start"` // RFC 3339, wall clock
	End        string  `json:"end"`
	DurationMS float64 `json:"duration_ms"`
	Cause      string  `json:"cause"`
	BytesLost  *int64  `json:"bytes_lost"`
}

// ClockDrift compares the board's clock with the host's receive times
// over every timed frame of the run (a least-squares fit per boot,
// pooled). All figures of the run use board time; this only shows how
// far the host's view would be off.
type ClockDrift struct {
	Frames   uint64  `json:"frames"`    // frames in the fit
	DriftPPM float64 `json:"drift_ppm"` // host clock rate vs board clock, minus 1, in parts per million
	OffsetUS int64   `json:"offset_us"` // host receive time (µs since connect) minus board time at the first frame
	JitterUS float64 `json:"jitter_us"` // RMS of receive times around the fit: link and scheduling jitter
}
