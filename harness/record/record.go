// Package record is the run record schema: what runs.jsonl stores, one
// record per run, and what every report, the gate and the shrinker read.
// It depends on the analysis result types and nothing else of the harness,
// so readers of stored results never import the model, the sim or viper.
package record

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/harness/analyze"
)

// Verdicts.
const (
	Pass  = "pass"
	Fail  = "fail"
	Error = "error" // the rig failed, not the firmware
	// Inconclusive: the run lacks the evidence a verdict needs (planned
	// faults that did not begin, too few jobs, a short run, too much
	// telemetry lost; Evidence.Missing says which). Never PASS, never FAIL:
	// an infrastructure result.
	Inconclusive = "inconclusive"
)

// ResetCounts counts a run's resets by kind.
type ResetCounts struct {
	Watchdog int `json:"watchdog"`
	Software int `json:"software"`
	PowerOn  int `json:"power_on"`
	Hang     int `json:"hang"`
	Unknown  int `json:"unknown"`
	Expected int `json:"expected"` // resets of a kind the campaign's expect_resets allows
	// Brick is 1 when the board, after a reset, stayed silent past the
	// boot timeout while the link was up: the firmware did not come back.
	// It is not a reset of its own (the reset before it is counted).
	Brick int `json:"brick,omitempty"`
	// PowerCycle counts the reboots the host caused itself with a
	// power-cycle fault (RunRecord.PowerCycles lists them). They are the
	// campaign's doing, not the firmware's: Total and Unexpected leave
	// them out, and no check or score counts them unless asked to
	// (resets.power_cycle).
	PowerCycle int `json:"power_cycle,omitempty"`
}

// Total is the number of resets of any kind.
func (r ResetCounts) Total() int {
	return r.Watchdog + r.Software + r.PowerOn + r.Hang + r.Unknown + r.Expected
}

// Unexpected is the number of resets of any kind, unknown reasons
// included, that the campaign's expect_resets does not allow.
func (r ResetCounts) Unexpected() int {
	return r.Total() - r.Expected
}

// Reset kinds, as counted in a run record.
const (
	ResetWatchdog = "watchdog"
	ResetSoftware = "software"
	ResetPowerOn  = "power_on"
	ResetHang     = "hang"
	ResetUnknown  = "unknown"  // the sequence restarted without a BOOT banner
	ResetExpected = "expected" // a kind the campaign's expect_resets allows
	ResetBrick    = "brick"    // no BOOT within the boot timeout after a reset: the board did not come back
	// ResetPowerCycle is a reboot the host caused with a power-cycle fault.
	ResetPowerCycle = "power_cycle"
)

// MaxResetLog is how many resets (the first ones) a run record lists one by
// one; the counts always cover every reset. A board that resets all night
// keeps a record, and a harness, of bounded size.
const MaxResetLog = 1000

// ResetEvent is one reset seen during a run.
type ResetEvent struct {
	AtUS      int64  `json:"at_us"` // run time of the last event before it
	Kind      string `json:"kind"`
	Reason    string `json:"reason,omitempty"` // as the board gave it in BOOT
	BootCount uint32 `json:"boot_count,omitempty"`
	// HostNS is the target clock (virtual for sim) when the harness noted
	// the reset, ns since the run's connect.
	HostNS int64 `json:"-"`
	// RecoveryUS is the board time from the reset to the end of the first
	// complete bus cycle after it (every task of the shortest period
	// finished a job); -1 if the run ended first.
	RecoveryUS int64 `json:"recovery_us"`
	// BlackBox is what the board recorded just before a watchdog reset,
	// read back with DP after the reboot, oldest first.
	BlackBox []BoxEvent `json:"black_box,omitempty"`
	// Console is the board's last console lines before the harness noted
	// the reset (at most 20), oldest first: what an engineer reads first.
	Console []ConsoleLine `json:"console,omitempty"`
}

// ConsoleLine is one line of the board's console (PROTOCOL.md 1.4): a whole
// line on the link that is not a frame.
type ConsoleLine struct {
	AtUS   int64  `json:"at_us"`   // run time of the last event received before it
	HostUS int64  `json:"host_us"` // host receive time, µs after the run's connect
	Text   string `json:"text"`
}

// Console summarises a run's console: how many lines, and the last ones.
type Console struct {
	Lines uint64        `json:"lines"`
	Last  []ConsoleLine `json:"last"` // at most 20, oldest first
}

// BoxEvent is one black-box event with names resolved, at run time.
type BoxEvent struct {
	AtUS int64  `json:"at_us"`
	Kind string `json:"kind"` // the wire event kind: RL, EN, DM, WK, WX, ...
	Task string `json:"task,omitempty"`
	Lock string `json:"lock,omitempty"` // for BL, LK, UL
	Arg  int64  `json:"arg"`
}

// Telemetry counts what came over the line.
type Telemetry struct {
	Frames    uint64 `json:"frames"`
	BadCRC    uint64 `json:"bad_crc"`
	Malformed uint64 `json:"malformed"`
	TooLong   uint64 `json:"too_long"`
	Garbage   uint64 `json:"garbage_bytes"`
	// Lost is every event that did not arrive: the events missing in
	// sequence gaps plus the events the board reported dropping. The
	// check telemetry.lost reads this number.
	Lost    uint64 `json:"lost"`
	SeqLost uint64 `json:"seq_lost"` // events missing in sequence gaps
	Dropped uint64 `json:"dropped"`  // events the board reported dropping (DR)
	// Protocol v2 counters; absent in records of older harnesses.
	Truncated uint64 `json:"truncated,omitempty"`     // frames cut short by a '$' or the end of input
	Gaps      uint64 `json:"gaps,omitempty"`          // sequence gaps (each ends the spans open across it)
	Console   uint64 `json:"console_lines,omitempty"` // console lines (not noise)
	Retries   uint64 `json:"retries,omitempty"`       // commands sent again with the same id
	Reasks    uint64 `json:"reasks,omitempty"`        // ID requests for a lost banner or table
	Stalls    uint64 `json:"stalls,omitempty"`        // silences past the liveness timeout that ended when the board was asked
}

// LossFraction is the share of events lost of those the board sent.
func (t Telemetry) LossFraction() float64 {
	if t.Lost == 0 {
		return 0
	}
	return float64(t.Lost) / float64(t.Frames+t.Lost)
}

// Noisy reports whether the link lost or mangled anything.
func (t Telemetry) Noisy() bool {
	return t.BadCRC+t.Malformed+t.TooLong+t.Garbage+t.Lost+t.Dropped+t.Truncated+t.Gaps+t.Retries+t.Reasks+t.Stalls > 0
}

// Firmware is the identity a board gave in its BOOT banner.
type Firmware struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Build   string `json:"build"`
}

// Crash is one crash frame: the registers a fault handler found stacked.
type Crash struct {
	AtUS int64    `json:"at_us"` // run time of the last event before it
	Task string   `json:"task,omitempty"`
	PC   uint32   `json:"pc"`
	LR   uint32   `json:"lr"`
	XPSR uint32   `json:"xpsr"`
	CFSR uint32   `json:"cfsr"`
	At   *CodeLoc `json:"pc_at,omitempty"` // where PC lies in the ELF
	From *CodeLoc `json:"lr_at,omitempty"` // where LR lies
}

// CodeLoc is a code address's function, file and line in the firmware's ELF.
type CodeLoc struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
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
	Faults        []Fault                       `json:"faults"` // the first MaxFaultLog firings (harness)
	FaultsPlanned int                           `json:"faults_planned"`
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
	// Crashes are the crash frames (CR) the board sent from its fault
	// handlers (the first 100), with PC and LR symbolized when the target
	// knows the firmware's ELF.
	Crashes []Crash `json:"crashes,omitempty"`
	// Console is the board's console: its line count and last lines.
	// Absent when the board printed nothing.
	Console *Console `json:"console,omitempty"`
	// Protocol is the wire protocol version the board announced (1 or 2).
	Protocol uint32 `json:"protocol,omitempty"`
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
	// TraceLevel is the trace level the run used: summary, default or
	// full. At summary (level 0) the per-task figures are of per-second
	// window maxima, not of jobs.
	TraceLevel string `json:"trace_level,omitempty"`
	// PowerCycles are the power cycles the host carried out for the
	// campaign's power-cycle faults (the first MaxResetLog), each with how
	// it was done and, for a rig, its power argv's output.
	PowerCycles []PowerCycle `json:"power_cycles,omitempty"`
	// Evidence is what the verdict rests on: the planned faults reconciled
	// with the board's FB events, the board time reached, jobs and loss.
	Evidence *Evidence `json:"evidence,omitempty"`
}

// Evidence is what a run showed that its verdict may rest on. A run whose
// Missing is not empty is inconclusive.
type Evidence struct {
	Faults    analyze.FaultCheck `json:"faults"`
	ReachedUS int64              `json:"reached_us"` // board time the run reached
	MinJobs   int                `json:"min_jobs"`   // jobs each checked task needed
	Loss      float64            `json:"loss"`       // share of events lost
	MaxLoss   float64            `json:"max_loss"`
	// Missing says why the evidence is not enough, one reason a line.
	Missing []string `json:"missing,omitempty"`
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

// Interrupted is the verdict of a run cut short by SIGINT or SIGTERM:
// what it observed until then is kept, and no verdict is claimed.
const Interrupted = "interrupted"

// Plan says which plan a run belongs to, so a results directory read on
// its own can tell which runs are missing.
type Plan struct {
	Runs   int    `json:"runs"`             // runs the campaign plans (a search: the most it may need)
	Search string `json:"search,omitempty"` // a sweep search: runs are picked as it goes
}

// ReferenceNone is the reference of a campaign that runs its checks and
// scores nothing.
const ReferenceNone = "none"

// Fault is one planned firing of one campaign fault in a run, as stored.
type Fault struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	At   int64  `json:"at_us"` // run time, µs after the run started
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
	Campaign     string  `json:"campaign"`
	CampaignHash string  `json:"campaign_hash"`
	Target       string  `json:"target"`
	Reference    string  `json:"reference"`
	Seed         uint64  `json:"seed"`
	Verdict      string  `json:"verdict"`
	Score        float64 `json:"score"`
	Passed       int     `json:"passed"`
	Failed       int     `json:"failed"`
	Errors       int     `json:"errors"`
	// Inconclusive counts runs without the evidence a verdict needs.
	Inconclusive int         `json:"inconclusive,omitempty"`
	Runs         []RunRecord `json:"runs"`
	// Resumed counts the runs taken from an earlier, interrupted invocation.
	Resumed int `json:"-"`
	// Interrupted is set when a stop was requested before every run was done.
	Interrupted bool `json:"interrupted,omitempty"`
	// Planned is the number of runs the campaign plans (for a search, the
	// most it may need): with Interrupted, how far it got.
	Planned int `json:"planned,omitempty"`
	// Qualification evidence: the campaign file's own version, the
	// firmware the board reported (the first run's), the harness version
	// that made the runs, and (from a results directory, where host facts
	// are kept) when the runs started and ended, wall clock.
	CampaignVersion string    `json:"campaign_version,omitempty"`
	Firmware        *Firmware `json:"firmware,omitempty"`
	Harness         string    `json:"harness,omitempty"`
	Started         string    `json:"started,omitempty"`
	Ended           string    `json:"ended,omitempty"`
	// Sweep is what a sweeping campaign learned, per value.
	Sweep *SweepResult `json:"sweep,omitempty"`
	// Requirements lists each requirement the checks cite, with its verdict
	// and evidence.
	Requirements []RequirementResult `json:"requirements,omitempty"`
	// RigErrors lists every rig error, retried or not, apart from the
	// firmware's verdicts.
	RigErrors []RigErrorEntry `json:"rig_errors,omitempty"`
	// Rigs is the rig health table of a campaign run on a pool.
	Rigs []RigHealth `json:"rigs,omitempty"`
}

// LinkInfo describes the host's link to a real board during a run.
type LinkInfo struct {
	Gaps  []LinkGap   `json:"gaps"`
	Clock *ClockDrift `json:"clock,omitempty"`
	// Witness is what a target that sees resets by itself (QEMU's QMP
	// events) saw, beside what the board announced.
	Witness *ResetWitness `json:"witness,omitempty"`
}

// ResetWitness compares the resets a target witnessed on its own with the
// reboots the board announced in its BOOT banners, count for count.
type ResetWitness struct {
	Watchdog      int    `json:"watchdog"`       // the watchdog fired (QMP WATCHDOG)
	Resets        int    `json:"resets"`         // the machine reset (QMP RESET)
	BoardWatchdog int    `json:"board_watchdog"` // reboots the board gave reason WDT
	BoardReboots  int    `json:"board_reboots"`  // reboots the board announced
	Agrees        bool   `json:"agrees"`
	Disagreement  string `json:"disagreement,omitempty"`
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

// SweepPoint says which sweep value a run used.
type SweepPoint struct {
	Fault string `json:"fault"`
	Param string `json:"param"`
	Value string `json:"value"`
	Run   int    `json:"run"` // the run's position among the runs of this value (--run)
}

// SweepResult is what a sweep learned: each value tried, and for a
// breaking-point search the breaking value and the margin.
type SweepResult struct {
	Fault   string       `json:"fault"`
	Param   string       `json:"param"`
	Search  string       `json:"search,omitempty"`
	Nominal string       `json:"nominal"`
	Points  []PointStats `json:"points"`
	// Breaking is the smallest value that broke the board (a reset or a
	// failed check in at least one of its runs); empty if none did.
	Breaking string `json:"breaking,omitempty"`
	// LastSafe is the largest value below Breaking whose runs all held.
	LastSafe string `json:"last_safe,omitempty"`
	// Margin is Breaking minus Nominal: how much worse than the campaign's
	// own fault the board survives. With no breaking value within the
	// range it is the range's top minus Nominal, a lower bound.
	Margin      string  `json:"margin"`
	MarginNum   float64 `json:"margin_value"` // µs for durations
	MarginBound bool    `json:"margin_lower_bound,omitempty"`
	Note        string  `json:"note,omitempty"`
}

// PointStats summarises the runs at one sweep value.
type PointStats struct {
	Value  string `json:"value"`
	Runs   int    `json:"runs"`
	Failed int    `json:"failed"` // runs with a failed check or a reset
	Resets int    `json:"resets"`
	Broke  bool   `json:"broke"`
}

// Deduction is one reason a run lost points against the reference firmware.
type Deduction struct {
	Metric    string  `json:"metric"`
	Reference float64 `json:"reference"`
	Observed  float64 `json:"observed"`
	Rule      string  `json:"rule"`
	Points    float64 `json:"points"`
}

// CheckResult is one check's verdict on one run.
type CheckResult struct {
	Check
	Value float64 `json:"value"`
	Pass  bool    `json:"pass"`
}

// Metric returns the value of a check metric in a run record, and whether
// the record has it.
func (r *RunRecord) Metric(name string) (float64, bool) {
	if get, ok := runMetrics[name]; ok {
		return get(r), true
	}
	for i := len(name) - 1; i > 0; i-- {
		if name[i] != '.' {
			continue
		}
		t, ok := r.Tasks[name[:i]]
		if !ok {
			return 0, false
		}
		m := name[i+1:]
		tm, ok := taskMetrics[m]
		if !ok {
			return 0, false
		}
		// Per-job percentiles do not exist at trace level 0 (the board
		// sent window maxima): the metric is absent, and a check on it
		// fails instead of passing on a zero.
		if t.WindowMax && (m == "p99_response" || m == "p50_response") {
			return 0, false
		}
		return tm.get(&t), true
	}
	return 0, false
}

// RequirementResult is one requirement's verdict over a campaign's runs,
// with the evidence: every check that cites it, how many runs it held in,
// and the worst value observed.
type RequirementResult struct {
	ID       string          `json:"id"`
	Text     string          `json:"text,omitempty"`
	Verdict  string          `json:"verdict"` // pass, fail, or untested (no completed run)
	Evidence []CheckEvidence `json:"evidence"`
}

// CheckEvidence is one check's outcome over the runs.
type CheckEvidence struct {
	Check      string  `json:"check"`
	Runs       int     `json:"runs"`   // runs that evaluated the check
	Failed     int     `json:"failed"` // runs in which it failed
	Worst      float64 `json:"worst"`  // the worst observed value (µs for times)
	WorstText  string  `json:"worst_text"`
	WorstRun   int     `json:"worst_run"` // index of the run that observed it
	FailedRuns []int   `json:"failed_runs,omitempty"`
}

// Untested is the verdict of a requirement no completed run evaluated.
const Untested = "untested"

// IsTimeMetric reports whether a check metric is a time in µs.
func IsTimeMetric(metric string) bool {
	if _, ok := runMetrics[metric]; ok {
		return false
	}
	_, m, ok := strings.Cut(metric, ".")
	return ok && taskMetrics[m].isTime
}

// FormatMetric writes a value of a check metric as the requirement and
// gate tables show it: times (µs) in milliseconds, counts as numbers.
func FormatMetric(metric string, v float64) string {
	if IsTimeMetric(metric) {
		return fmt.Sprintf("%.3f ms", v/1000)
	}
	return fmt.Sprintf("%g", v)
}

// Check is one absolute limit on a run, written in a compact syntax:
//
//	bc_dist.p99_response < 100ms
//	resets.watchdog == 0
//	inversions <= 2
type Check struct {
	Expr        string  `json:"check"`
	Requirement string  `json:"requirement,omitempty"`
	Metric      string  `json:"-"`
	Op          string  `json:"-"`
	Limit       float64 `json:"-"`              // µs for time metrics
	IsTime      bool    `json:"time,omitempty"` // the metric is a time in µs
}

var checkOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// Task metrics a check can name after "<task>.": whether each is a time
// (µs), and how to read it. ParseCheck accepts and Metric reads exactly
// these.
var taskMetrics = map[string]struct {
	isTime bool
	get    func(t *analyze.TaskResult) float64
}{
	"max_response": {true, func(t *analyze.TaskResult) float64 { return float64(t.MaxResponseUS) }},
	"p99_response": {true, func(t *analyze.TaskResult) float64 { return float64(t.P99ResponseUS) }},
	"p50_response": {true, func(t *analyze.TaskResult) float64 { return float64(t.P50ResponseUS) }},
	// Trace level 0: percentiles of the per-second window maxima.
	"p99_of_window_max": {true, func(t *analyze.TaskResult) float64 { return float64(t.P99OfWindowMaxUS) }},
	"p50_of_window_max": {true, func(t *analyze.TaskResult) float64 { return float64(t.P50OfWindowMaxUS) }},
	"censored":          {false, func(t *analyze.TaskResult) float64 { return float64(t.Censored) }},
	"max_blocking":      {true, func(t *analyze.TaskResult) float64 { return float64(t.MaxBlockingUS) }},
	"deadline_misses":   {false, func(t *analyze.TaskResult) float64 { return float64(t.DeadlineMisses) }},
	"jobs":              {false, func(t *analyze.TaskResult) float64 { return float64(t.Jobs) }},
}

// Run-wide metrics (none is a time), and how to read each.
var runMetrics = map[string]func(r *RunRecord) float64{
	"resets.watchdog":    func(r *RunRecord) float64 { return float64(r.Resets.Watchdog) },
	"resets.software":    func(r *RunRecord) float64 { return float64(r.Resets.Software) },
	"resets.power_on":    func(r *RunRecord) float64 { return float64(r.Resets.PowerOn) },
	"resets.hang":        func(r *RunRecord) float64 { return float64(r.Resets.Hang) },
	"resets.unknown":     func(r *RunRecord) float64 { return float64(r.Resets.Unknown) },
	"resets.expected":    func(r *RunRecord) float64 { return float64(r.Resets.Expected) },
	"resets.total":       func(r *RunRecord) float64 { return float64(r.Resets.Total()) },
	"resets.unexpected":  func(r *RunRecord) float64 { return float64(r.Resets.Unexpected()) },
	"resets.brick":       func(r *RunRecord) float64 { return float64(r.Resets.Brick) },
	"resets.power_cycle": func(r *RunRecord) float64 { return float64(r.Resets.PowerCycle) },
	"inversions":         func(r *RunRecord) float64 { return float64(r.Inversions) },
	"score":              func(r *RunRecord) float64 { return r.Score },
	"telemetry.lost":     func(r *RunRecord) float64 { return float64(r.Telemetry.Lost) },
}

// ParseCheck parses one check. tasks, if not nil, is the set of task names
// a "<task>.metric" may refer to.
func ParseCheck(expr string, tasks map[string]bool) (Check, error) {
	c := Check{Expr: strings.TrimSpace(expr)}
	var lhs, rhs string
	for _, op := range checkOps {
		if i := strings.Index(c.Expr, op); i > 0 {
			lhs, rhs, c.Op = strings.TrimSpace(c.Expr[:i]), strings.TrimSpace(c.Expr[i+len(op):]), op
			break
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("%q: want METRIC OP VALUE, e.g. \"bc_dist.p99_response < 100ms\" (OP one of %s)", expr, strings.Join(checkOps, " "))
	}
	c.Metric = lhs
	isTime := false
	if _, ok := runMetrics[lhs]; ok {
		// run-wide
	} else if task, m, ok := strings.Cut(lhs, "."); ok {
		tm, known := taskMetrics[m]
		if !known {
			return c, fmt.Errorf("%q: unknown task metric %q (known: %s)", expr, m, strings.Join(slices.Sorted(maps.Keys(taskMetrics)), ", "))
		}
		if tasks != nil && !tasks[task] {
			return c, fmt.Errorf("%q: unknown task %q (tasks: %s)", expr, task, strings.Join(slices.Sorted(maps.Keys(tasks)), ", "))
		}
		isTime = tm.isTime
	} else {
		return c, fmt.Errorf("%q: unknown metric %q (known: %s, or TASK.METRIC)", expr, lhs, strings.Join(slices.Sorted(maps.Keys(runMetrics)), ", "))
	}
	v, err := parseLimit(rhs, isTime)
	if err != nil {
		return c, fmt.Errorf("%q: %v", expr, err)
	}
	c.Limit, c.IsTime = v, isTime
	return c, nil
}

func parseLimit(s string, isTime bool) (float64, error) {
	if isTime {
		if d, err := time.ParseDuration(s); err == nil {
			return float64(d) / float64(time.Microsecond), nil
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("time limit %q has no unit (write e.g. %sms)", s, s)
		}
		return 0, fmt.Errorf("time limit %q is not a duration such as 100ms", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("limit %q is not a number", s)
	}
	return v, nil
}

// Format writes a value of the check's metric for a person: times as
// durations, counts as numbers.
func (c Check) Format(v float64) string {
	if c.IsTime {
		return (time.Duration(v) * time.Microsecond).String()
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Holds reports whether v satisfies the check.
func (c Check) Holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Limit
	case "<=":
		return v <= c.Limit
	case ">":
		return v > c.Limit
	case ">=":
		return v >= c.Limit
	case "==":
		return v == c.Limit
	case "!=":
		return v != c.Limit
	}
	return false
}

// Summarize recomputes the campaign verdict, score and counts from sum.Runs.
// A rig error outweighs everything (nothing can be said); then a failed
// run (the firmware failed, whatever else happened); then an inconclusive
// one (no evidence either way); only runs that all passed give PASS.
func Summarize(sum *Summary) {
	sum.Verdict = Pass
	total := 0.0
	sum.Passed, sum.Failed, sum.Errors, sum.Inconclusive = 0, 0, 0, 0
	for _, r := range sum.Runs {
		total += r.Score
		switch r.Verdict {
		case Pass:
			sum.Passed++
		case Fail:
			sum.Failed++
		case Inconclusive:
			sum.Inconclusive++
		default:
			sum.Errors++
		}
	}
	switch {
	case sum.Errors > 0:
		sum.Verdict = Error
	case sum.Failed > 0:
		sum.Verdict = Fail
	case sum.Inconclusive > 0:
		sum.Verdict = Inconclusive
	}
	if n := len(sum.Runs); n > 0 {
		sum.Score = math.Round(total/float64(n)*10) / 10
	}
}

// FailedChecks formats the failed checks for a person.
func FailedChecks(cs []CheckResult) []string {
	var out []string
	for _, c := range cs {
		if !c.Pass {
			out = append(out, fmt.Sprintf("%s (observed %s)", c.Expr, c.Format(c.Value)))
		}
	}
	sort.Strings(out)
	return out
}

// TaskOfMetric returns the task a check metric is about ("bc_dist" of
// "bc_dist.p99_response"), or false for a run-wide metric.
func TaskOfMetric(metric string) (string, bool) {
	if _, ok := runMetrics[metric]; ok {
		return "", false
	}
	i := strings.LastIndexByte(metric, '.')
	if i <= 0 {
		return "", false
	}
	if _, ok := taskMetrics[metric[i+1:]]; !ok {
		return "", false
	}
	return metric[:i], true
}

// PowerCycle is one power cycle the host carried out for a power-cycle
// fault.
type PowerCycle struct {
	Fault string `json:"fault"` // the campaign fault's name
	ID    uint32 `json:"id"`    // the firing's id (faults[].id)
	// PlannedUS is its time in the plan (faults[].at_us). After an
	// earlier reset faults keep their phase against the task set, so the
	// run time it fell on may differ by part of a hyperperiod.
	PlannedUS int64 `json:"planned_us"`
	// AtUS is the run time the host switched the power at: the planned
	// time on a target that owns time (the simulator), the host's best
	// estimate of the board's time on a real one.
	AtUS  int64  `json:"at_us"`
	OffUS int64  `json:"off_us,omitempty"` // how long the board was kept off
	How   string `json:"how"`              // sim, qmp system_reset, rig power argv
	// Argv, ExitCode and Output are a rig power argv's run.
	Argv     []string `json:"argv,omitempty"`
	ExitCode int      `json:"exit_code,omitempty"`
	Output   string   `json:"output,omitempty"`
	Error    string   `json:"error,omitempty"`
	// BootReason is the reason the board gave in the banner that
	// followed (POR after a real power cycle); empty if none came.
	BootReason string `json:"boot_reason,omitempty"`
}
