package harness

import (
	"github.com/hilchaos/hilchaos/harness/analyze"
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
}

// Total is the number of resets of any kind.
func (r ResetCounts) Total() int { return r.Watchdog + r.Software + r.PowerOn + r.Hang + r.Unknown }

func countResets(evs []ResetEvent) ResetCounts {
	var c ResetCounts
	for _, e := range evs {
		switch e.Kind {
		case ResetWatchdog:
			c.Watchdog++
		case ResetSoftware:
			c.Software++
		case ResetPowerOn:
			c.PowerOn++
		case ResetHang:
			c.Hang++
		default:
			c.Unknown++
		}
	}
	return c
}

// RunRecord is everything known about one run. It is what runs.jsonl
// stores, one record per line, and what every report is derived from.
type RunRecord struct {
	Campaign      string                        `json:"campaign"`
	CampaignHash  string                        `json:"campaign_hash"`
	Index         int                           `json:"index"`
	Seed          uint64                        `json:"seed"`
	Target        string                        `json:"target"`
	Reference     string                        `json:"reference"`
	Firmware      Firmware                      `json:"firmware"`
	DurationUS    int64                         `json:"duration_us"`
	Verdict       string                        `json:"verdict"`
	Score         float64                       `json:"score"`
	Resets        ResetCounts                   `json:"resets"`
	ResetLog      []ResetEvent                  `json:"reset_log"`
	Inversions    int                           `json:"inversions"`
	Tasks         map[string]analyze.TaskResult `json:"tasks"`
	Checks        []CheckResult                 `json:"checks"`
	Deductions    []Deduction                   `json:"deductions"`
	Faults        []PlannedFault                `json:"faults"`
	FaultsSkipped int                           `json:"faults_skipped"`
	Telemetry     Telemetry                     `json:"telemetry"`
	Error         string                        `json:"error,omitempty"`
	// Link is what the host saw of the link to a real board: the gaps
	// while it was down and the drift between board and host clocks.
	// Absent for the simulator, which owns time.
	Link *LinkInfo `json:"link,omitempty"`
	// Host holds wall-clock facts. It is stored in runs.jsonl but left out
	// of the printed document, which must be identical for the same seed.
	Host *HostInfo `json:"host,omitempty"`
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
