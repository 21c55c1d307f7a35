package harness

import "github.com/hilchaos/hilchaos/harness/record"

// The run record schema lives in harness/record; these names keep the
// harness's callers reading as before.
type (
	RunRecord         = record.RunRecord
	RunKey            = record.RunKey
	HostInfo          = record.HostInfo
	Summary           = record.Summary
	LinkInfo          = record.LinkInfo
	ResetWitness      = record.ResetWitness
	Crash             = record.Crash
	CodeLoc           = record.CodeLoc
	LinkGap           = record.LinkGap
	ClockDrift        = record.ClockDrift
	ResetCounts       = record.ResetCounts
	ResetEvent        = record.ResetEvent
	BoxEvent          = record.BoxEvent
	Telemetry         = record.Telemetry
	Firmware          = record.Firmware
	SweepPoint        = record.SweepPoint
	SweepResult       = record.SweepResult
	PointStats        = record.PointStats
	Deduction         = record.Deduction
	CheckResult       = record.CheckResult
	Check             = record.Check
	RequirementResult = record.RequirementResult
	CheckEvidence     = record.CheckEvidence
	Store             = record.Store
)

// Verdicts, reset kinds and limits of the record schema.
const (
	Pass         = record.Pass
	Fail         = record.Fail
	Error        = record.Error
	Inconclusive = record.Inconclusive
	Untested     = record.Untested

	ResetWatchdog = record.ResetWatchdog
	ResetSoftware = record.ResetSoftware
	ResetPowerOn  = record.ResetPowerOn
	ResetHang     = record.ResetHang
	ResetUnknown  = record.ResetUnknown
	ResetExpected = record.ResetExpected
	ResetBrick    = record.ResetBrick

	MaxResetLog = record.MaxResetLog
	RunsFile    = record.RunsFile
)

// Functions of the record schema, under their old names.
var (
	OpenStore    = record.OpenStore
	ReadRuns     = record.ReadRuns
	ParseCheck   = record.ParseCheck
	FormatMetric = record.FormatMetric
	IsTimeMetric = record.IsTimeMetric
	Summarize    = record.Summarize
	FailedChecks = record.FailedChecks
)

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
		case record.ResetPowerCycle:
			rc.PowerCycle += n
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

// KeyOf is the RunKey run p of campaign c will have.
func KeyOf(c *Campaign, p RunPlan) RunKey {
	k := RunKey{CampaignHash: c.Hash, Index: p.Index, Seed: p.Seed, Target: c.Target, DurationUS: p.Duration.Microseconds()}
	if p.Sweep != nil {
		k.SweepValue = p.Sweep.Value
	}
	return k
}

// storedFaults is the plan's fault list as the record stores it.
func storedFaults(pf []PlannedFault) []record.Fault {
	out := make([]record.Fault, len(pf))
	for i, f := range pf {
		out[i] = record.Fault{ID: f.ID, Name: f.Name, Kind: f.Kind, At: f.At}
	}
	return out
}
