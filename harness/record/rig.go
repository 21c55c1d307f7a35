package record

// RigInfo names the rig a run was done on and what the rig reported about
// itself.
type RigInfo struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	VID     string `json:"vid,omitempty"`
	PID     string `json:"pid,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Product string `json:"product,omitempty"`
	// Build is the firmware build id the board reported in its banner.
	Build string `json:"build,omitempty"`
	// Flash is the flash command run on the rig before this run, if any.
	Flash *Command `json:"flash,omitempty"`
}

// Attempt is an earlier try of a run that ended in a rig error; the
// record's own verdict is that of its last try.
type Attempt struct {
	Rig   string `json:"rig,omitempty"`
	Error string `json:"error"`
	// PowerCycle is the power cycle the rig got after this error, if any.
	PowerCycle *Command `json:"power_cycle,omitempty"`
}

// RigErrorEntry is one rig error of a campaign, for the summary's list of
// rig errors, apart from the firmware's verdicts.
type RigErrorEntry struct {
	Index int    `json:"index"`
	Rig   string `json:"rig,omitempty"`
	Error string `json:"error"`
	// Recovered is true when a later try of the run completed.
	Recovered bool `json:"recovered"`
}

// RigHealth is what a campaign did to one rig: a row of the rig health
// table.
type RigHealth struct {
	Name        string `json:"name"`
	Target      string `json:"target"`
	Runs        int    `json:"runs"`
	Passed      int    `json:"passed"`
	Failed      int    `json:"failed"`
	Errors      int    `json:"errors"`
	PowerCycles int    `json:"power_cycles,omitempty"`
	Quarantined bool   `json:"quarantined"`
	// Reason says why a quarantined rig was taken out.
	Reason string `json:"reason,omitempty"`
}

// Command is one run of a rig's flash or power argv.
type Command struct {
	Argv     []string `json:"argv"`
	ExitCode int      `json:"exit_code"`
	Output   string   `json:"output,omitempty"` // stdout and stderr, the end of them
	Error    string   `json:"error,omitempty"`
}
