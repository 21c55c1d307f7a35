package shrink

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// CampaignText is what a shrunk campaign file keeps of the original
// campaign besides its faults and duration.
type CampaignText struct {
	Name, Description string
	Target, Reference string
	Seed              uint64
	Repeat            int
	Trace             string // summary, default or full
	MinScore          float64
	ExpectResets      []string
	Timeouts          map[string]time.Duration // boot, liveness, reconnect
	Firmware          map[string]string        // name, version, build
	Checks            []CheckText
	Requirements      map[string]string
}

// CheckText is one check as written.
type CheckText struct {
	Expr, Requirement string
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's escaping is
// a subset of YAML's).
func yamlString(s string) string { return yamlValue(s) }

// yamlValue writes a scalar as JSON, which YAML reads as the same value.
func yamlValue(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return yamlString(fmt.Sprint(v))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// FormatUS writes a run time as a campaign duration ("94.319ms").
func FormatUS(us int64) string { return (time.Duration(us) * time.Microsecond).String() }

// group is the firings that share a fault name, kind and parameters: one
// campaign fault entry with an at: list.
type group struct {
	name, kind string
	orig       string // the fault's name before a suffix made it unique
	params     map[string]any
	at         []int64
}

func groups(c Candidate) []*group {
	var out []*group
	byKey := map[string]*group{}
	for _, f := range c.Firings {
		pk, _ := json.Marshal(f.Params)
		k := f.Name + "\x00" + f.Kind + "\x00" + string(pk)
		g := byKey[k]
		if g == nil {
			g = &group{name: f.Name, orig: f.Name, kind: f.Kind, params: f.Params}
			byKey[k] = g
			out = append(out, g)
		}
		g.at = append(g.at, f.AtUS)
	}
	// Names must stay unique: a fault whose parameters were shrunk
	// differently in two firings becomes two entries.
	used := map[string]int{}
	for _, g := range out {
		used[g.name]++
		if n := used[g.name]; n > 1 {
			g.name = fmt.Sprintf("%s-%d", g.name, n)
		}
	}
	return out
}

// WriteCampaign writes cand as a campaign file: the original's target,
// reference, seed, checks and timeouts, the shrunk firings at explicit
// times, and head (comment lines) on top.
func WriteCampaign(w io.Writer, ct CampaignText, cand Candidate, head []string, orig map[string]map[string]any) error {
	var b strings.Builder
	for _, l := range head {
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# " + l + "\n")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "name: %s\n", yamlString(ct.Name))
	if ct.Description != "" {
		fmt.Fprintf(&b, "description: %s\n", yamlString(ct.Description))
	}
	fmt.Fprintf(&b, "target: %s\n", yamlString(ct.Target))
	fmt.Fprintf(&b, "reference: %s\n", yamlString(ct.Reference))
	fmt.Fprintf(&b, "duration: %s\n", FormatUS(cand.DurationUS))
	// The shrunk run is as short as the failure allows: fewer jobs than the
	// default min_jobs (10) would make the fixed firmware's run inconclusive.
	b.WriteString("min_jobs: 1   # a shrunk run is short by design; every job it shows counts\n")
	fmt.Fprintf(&b, "repeat: %d\n", max(ct.Repeat, 1))
	fmt.Fprintf(&b, "seed: %d\n", ct.Seed)
	if ct.Trace != "" {
		fmt.Fprintf(&b, "trace: %s\n", ct.Trace)
	}
	if ct.MinScore > 0 {
		fmt.Fprintf(&b, "min_score: %v\n", ct.MinScore)
	}
	if len(ct.ExpectResets) > 0 {
		b.WriteString("expect_resets:\n")
		for _, k := range ct.ExpectResets {
			fmt.Fprintf(&b, "  - %s\n", k)
		}
	}
	if len(ct.Timeouts) > 0 {
		b.WriteString("timeouts:\n")
		for _, k := range slices.Sorted(maps.Keys(ct.Timeouts)) {
			fmt.Fprintf(&b, "  %s: %s\n", k, ct.Timeouts[k])
		}
	}
	if len(ct.Firmware) > 0 {
		b.WriteString("firmware:\n")
		for _, k := range slices.Sorted(maps.Keys(ct.Firmware)) {
			fmt.Fprintf(&b, "  %s: %s\n", k, yamlString(ct.Firmware[k]))
		}
	}
	b.WriteString("\nfaults:")
	gs := groups(cand)
	if len(gs) == 0 {
		b.WriteString(" []   # the board fails with no fault at all\n")
	} else {
		b.WriteString("\n")
	}
	for _, g := range gs {
		fmt.Fprintf(&b, "  - name: %s\n", yamlString(g.name))
		fmt.Fprintf(&b, "    kind: %s\n", yamlString(g.kind))
		for _, k := range slices.Sorted(maps.Keys(g.params)) {
			fmt.Fprintf(&b, "    %s: %s", k, yamlValue(g.params[k]))
			if o, ok := orig[g.orig][k]; ok && fmt.Sprint(o) != fmt.Sprint(g.params[k]) {
				fmt.Fprintf(&b, "   # was %v", o)
			}
			b.WriteString("\n")
		}
		b.WriteString("    schedule:\n      at: [")
		for i, t := range g.at {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(FormatUS(t))
		}
		b.WriteString("]\n")
	}
	if len(ct.Checks) > 0 {
		b.WriteString("\nchecks:\n")
		for _, ch := range ct.Checks {
			if ch.Requirement != "" {
				fmt.Fprintf(&b, "  - {check: %s, requirement: %s}\n", yamlString(ch.Expr), yamlString(ch.Requirement))
			} else {
				fmt.Fprintf(&b, "  - %s\n", yamlString(ch.Expr))
			}
		}
	}
	if len(ct.Requirements) > 0 {
		b.WriteString("\nrequirements:\n")
		for _, id := range slices.Sorted(maps.Keys(ct.Requirements)) {
			fmt.Fprintf(&b, "  - id: %s\n    text: %s\n", yamlString(id), yamlString(ct.Requirements[id]))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
