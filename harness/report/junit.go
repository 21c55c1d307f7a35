package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/harness/record"
)

// JUnit XML in the structure CI servers read (Jenkins, GitLab, GitHub
// actions): one testsuite per run, one testcase per check of that run, and
// one for the score against the reference. A failure's message says what
// failed and its text what happened, and when, in board time.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	ID         int             `xml:"id,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the JUnit XML of every run. A suite's time is the wall
// time the run took (what a CI server adds up); its board time is the
// board_time_s property. A testcase is a verdict on the whole run and
// takes no time of its own.
func WriteJUnit(w io.Writer, sum *record.Summary) error {
	doc := junitSuites{Name: "hilchaos " + sum.Campaign}
	var wall float64
	for i := range sum.Runs {
		r := &sum.Runs[i]
		secs := "0.000"
		if d, ok := wallSeconds(r); ok {
			secs = fmt.Sprintf("%.3f", d)
			wall += d
		}
		s := junitSuite{Name: fmt.Sprintf("%s run %d (seed %d)", r.Campaign, r.Index, r.Seed), ID: r.Index, Time: secs,
			Properties: []junitProperty{
				{"target", r.Target}, {"reference", r.Reference}, {"seed", fmt.Sprint(r.Seed)},
				{"firmware", strings.TrimSpace(r.Firmware.Name + " " + r.Firmware.Version + " " + r.Firmware.Build)},
				{"score", fmt.Sprintf("%.1f", r.Score)}, {"inversions", fmt.Sprint(r.Inversions)},
				{"board_time_s", fmt.Sprintf("%.3f", float64(r.DurationUS)/1e6)},
				{"campaign_hash", r.CampaignHash}, {"campaign_version", r.CampaignVersion}, {"harness", sum.Harness},
			}}
		if r.Host != nil {
			s.Properties = append(s.Properties, junitProperty{"started", r.Host.Start}, junitProperty{"ended", r.Host.End})
		}
		for _, req := range sum.Requirements {
			s.Properties = append(s.Properties, junitProperty{"requirement " + req.ID, strings.ToUpper(req.Verdict) + ": " + req.Text})
		}
		if r.Host != nil {
			if ts, err := time.Parse(time.RFC3339Nano, r.Host.Start); err == nil {
				s.Timestamp = ts.UTC().Format("2006-01-02T15:04:05")
			}
			s.Hostname = r.Host.Name
		}
		class := fmt.Sprintf("hilchaos.%s.run%d", sanitize(r.Campaign), r.Index)
		context := strings.Join(Happenings(r), "\n")
		switch r.Verdict {
		case record.Error:
			s.Cases = append(s.Cases, junitCase{Name: "run", Classname: class, Time: "0.000",
				Error: &junitProblem{Message: "rig error: " + r.Error, Type: "infrastructure", Text: r.Error}})
			s.Errors++
		case record.Interrupted:
			// Cut short by a signal: no verdict, and CI must not read one.
			s.Cases = append(s.Cases, junitCase{Name: "run", Classname: class, Time: "0.000",
				Error: &junitProblem{Message: r.Error, Type: "interrupted", Text: r.Error}})
			s.Errors++
		case record.Inconclusive:
			why := "the evidence a verdict needs is missing"
			if r.Evidence != nil && len(r.Evidence.Missing) > 0 {
				why = strings.Join(r.Evidence.Missing, "; ")
			}
			s.Cases = append(s.Cases, junitCase{Name: "evidence", Classname: class, Time: "0.000",
				Error: &junitProblem{Message: "inconclusive: " + why, Type: "inconclusive", Text: why}})
			s.Errors++
		}
		for _, c := range r.Checks {
			jc := junitCase{Name: c.Expr, Classname: class, Time: "0.000"}
			if c.Requirement != "" {
				jc.Name = c.Requirement + ": " + c.Expr
			}
			if !c.Pass {
				jc.Failure = &junitProblem{Type: "check",
					Message: fmt.Sprintf("%s failed: observed %s", c.Expr, c.Format(c.Value)), Text: context}
				s.Failures++
			}
			s.Cases = append(s.Cases, jc)
		}
		if r.Verdict != record.Error && r.Verdict != record.Interrupted && r.Reference != record.ReferenceNone {
			jc := junitCase{Name: "score against the reference", Classname: class, Time: "0.000"}
			if len(r.Deductions) > 0 && r.Verdict == record.Fail && allChecksPass(r) {
				// The run failed on min_score alone.
				jc.Failure = &junitProblem{Type: "score", Message: fmt.Sprintf("score %.1f below the campaign's minimum", r.Score),
					Text: strings.Join(Story(r), "\n")}
				s.Failures++
			}
			s.Cases = append(s.Cases, jc)
		}
		s.Tests = len(s.Cases)
		s.SystemOut = strings.Join(Story(r), "\n")
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = fmt.Sprintf("%.3f", wall)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func allChecksPass(r *record.RunRecord) bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// wallSeconds is how long run r took on the host's clock, when the record
// kept it.
func wallSeconds(r *record.RunRecord) (float64, bool) {
	if r.Host == nil {
		return 0, false
	}
	a, err1 := time.Parse(time.RFC3339Nano, r.Host.Start)
	b, err2 := time.Parse(time.RFC3339Nano, r.Host.End)
	if err1 != nil || err2 != nil || b.Before(a) {
		return 0, false
	}
	return b.Sub(a).Seconds(), true
}
