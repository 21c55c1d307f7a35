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
	Expected int `json:"expected"` // resets of a kind the campaign's expect_resets allows
}

// Total is the number of resets of any kind.
func (r ResetCounts) Total() int {
	return r.Watchdog + r.Software + r.PowerOn + r.Hang + r.Unknown + r.Expected
}

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
		case ResetExpected:
			c.Expected++
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
