package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// The HTML report is one file with no scripts, fonts or images from
// anywhere: inline CSS and inline SVG, so it opens offline and can be
// attached to a CI run as it is.

type htmlRun struct {
	R        *record.RunRecord
	Story    []string
	Timeline template.HTML
	Note     string
	Hists    []template.HTML
	Episodes []analyze.Episode
	Box      *record.ResetEvent
	// Console is the pane beside the timeline; ResetConsole the last
	// lines before each reset (console.go).
	Console, ResetConsole template.HTML
}

type htmlDoc struct {
	Sum    *record.Summary
	Runs   []htmlRun
	Failed int
	Link   template.HTML // the link's counters, when any is not zero (console.go)
}

// WriteHTML writes the report of sum; dir is the results directory the
// stored traces are read from.
func WriteHTML(w io.Writer, dir string, sum *record.Summary) error {
	doc := htmlDoc{Sum: sum, Link: telemetryHTML(sum)}
	for i := range sum.Runs {
		r := &sum.Runs[i]
		if r.Verdict == record.Pass {
			continue
		}
		doc.Failed++
		hr := htmlRun{R: r, Story: Story(r), ResetConsole: resetConsoleHTML(r)}
		var tl *Timeline
		var err error
		if from, to, ok := Window(r); !ok {
			hr.Note = "No inversion episode and no reset in this run: no timeline."
		} else if tl, err = BuildTimeline(dir, r, from, to); err != nil {
			hr.Note = "No timeline: " + err.Error()
		} else {
			hr.Timeline = template.HTML(timelineSVG(r, tl))
			if !tl.Full {
				hr.Note = "The trace had no context switches (trace level 1): running and ready are inferred."
			}
		}
		hr.Console = consolePaneHTML(r, tl)
		for _, name := range sortedTasks(r) {
			if h := histSVG(name, r.Tasks[name]); h != "" {
				hr.Hists = append(hr.Hists, template.HTML(h))
			}
		}
		hr.Episodes = r.InversionLog
		if len(hr.Episodes) > 20 {
			hr.Episodes = hr.Episodes[:20]
		}
		for k := range r.ResetLog {
			if len(r.ResetLog[k].BlackBox) > 0 {
				hr.Box = &r.ResetLog[k]
				break
			}
		}
		doc.Runs = append(doc.Runs, hr)
	}
	return page.Execute(w, &doc)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"at":        At,
	"dur":       Dur,
	"upper":     strings.ToUpper,
	"lost":      lost,
	"lostText":  lostText,
	"scoreText": scoreText,
	"ep":        EpisodeText,
	"box":       boxText,
	"summary":   SummaryLine,
	"sub":       func(a, b int) int { return a - b },
	"ints":      joinInts,
	"css":       func() template.CSS { return consoleCSS },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>hilchaos {{.Sum.Campaign}}: {{upper .Sum.Verdict}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:2em;border-top:1px solid #ccc;padding-top:1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
.pass{color:#176a1a}.fail,.error{color:#b00020;font-weight:bold}
svg text{font:11px sans-serif}.running{fill:#2e7d32}.ready{fill:#cfd8dc}.blocked{fill:#e53935}
.held{fill:#6a1b9a}.inversion{fill:#ff9800;fill-opacity:.35;stroke:#e65100;stroke-width:1.5}
.fault{stroke:#1565c0;stroke-dasharray:4 3}.reset{stroke:#b00020;stroke-width:3}.miss{stroke:#000;stroke-dasharray:1 2}
.bar{fill:#546e7a}.bar.censored{fill:#d84315}.legend rect{stroke:#999}
{{css}}
</style></head><body>
<h1>hilchaos campaign {{.Sum.Campaign}}: <span class="{{.Sum.Verdict}}">{{upper .Sum.Verdict}}</span>, score {{printf "%.1f" .Sum.Score}}/100</h1>
<p class="summary">{{summary .Sum}}. All times are board time since the run's start.</p>
<table id="evidence"><tr><th>campaign</th><td>{{.Sum.Campaign}}{{with .Sum.CampaignVersion}} version {{.}}{{end}}</td></tr>
<tr><th>campaign hash</th><td><code>{{.Sum.CampaignHash}}</code></td></tr>
<tr><th>seed</th><td>{{.Sum.Seed}}</td></tr>
<tr><th>target</th><td><code>{{.Sum.Target}}</code></td></tr>
<tr><th>reference</th><td><code>{{.Sum.Reference}}</code></td></tr>
<tr><th>firmware</th><td>{{with .Sum.Firmware}}{{.Name}} {{.Version}} (build {{.Build}}){{else}}not reported{{end}}</td></tr>
<tr><th>harness</th><td>hilchaos {{.Sum.Harness}}</td></tr>
<tr><th>date</th><td>{{if .Sum.Started}}{{.Sum.Started}} to {{.Sum.Ended}}{{else}}not recorded{{end}}</td></tr></table>
{{if .Sum.Requirements}}<h2>Requirements</h2>
<table id="requirements"><tr><th>requirement</th><th>verdict</th><th>check</th><th>runs passed</th><th>worst observed</th><th>failed runs</th></tr>
{{range .Sum.Requirements}}{{$r := .}}{{range $i, $e := .Evidence}}<tr>{{if eq $i 0}}<td rowspan="{{len $r.Evidence}}" title="{{$r.Text}}">{{$r.ID}}</td><td rowspan="{{len $r.Evidence}}" class="{{$r.Verdict}}">{{upper $r.Verdict}}</td>{{end}}<td>{{$e.Check}}</td><td>{{sub $e.Runs $e.Failed}}/{{$e.Runs}}</td><td>{{$e.WorstText}}{{if ge $e.WorstRun 0}} (run {{$e.WorstRun}}){{end}}</td><td>{{ints $e.FailedRuns}}</td></tr>
{{end}}{{end}}</table>
<ul class="requirement-texts">{{range .Sum.Requirements}}{{if .Text}}<li><b>{{.ID}}</b>: {{.Text}}</li>{{end}}{{end}}</ul>{{end}}
<table id="runs"><tr><th>run</th><th>seed</th><th>resets</th><th>inversions</th><th>outside model</th><th>points lost</th><th>score</th><th>verdict</th></tr>
{{range .Sum.Runs}}<tr><td>{{.Index}}</td><td>{{.Seed}}</td><td>{{.Resets.Total}}</td><td>{{.Inversions}}</td><td>{{len .Findings}}</td><td>{{lostText .}}</td><td>{{scoreText .}}</td><td class="{{.Verdict}}">{{upper .Verdict}}</td></tr>
{{end}}</table>
{{.Link}}
{{if not .Runs}}<p>Every run passed.</p>{{end}}
{{range .Runs}}<section class="run" id="run-{{.R.Index}}">
<h2>Run {{.R.Index}} (seed {{.R.Seed}}): <span class="{{.R.Verdict}}">{{upper .R.Verdict}}</span>, score {{printf "%.1f" .R.Score}}</h2>
<ul class="story">{{range .Story}}<li>{{.}}</li>{{end}}</ul>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
<div class="with-console">{{.Timeline}}{{.Console}}</div>
{{.ResetConsole}}
{{if .Episodes}}<h3>Priority-inversion episodes ({{.R.Inversions}} in all{{if lt (len .Episodes) .R.Inversions}}, first {{len .Episodes}} shown{{end}})</h3>
<table class="episodes"><tr><th>start</th><th>length</th><th>high</th><th>lock</th><th>held by (low)</th><th>culprit</th><th>medium ran (each task, largest first)</th></tr>
{{range .Episodes}}<tr><td>{{at .StartUS}}</td><td>{{dur .LengthUS}}</td><td>{{.High}}</td><td>{{.Lock}}</td><td>{{.Low}}</td><td>{{.Medium}}</td><td>{{dur .MediumUS}}{{range $i, $s := .Shares}}{{if $i}},{{else}}:{{end}} {{$s.Task}} {{dur $s.US}}{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .R.Deductions}}<h3>Deductions against the reference</h3>
<table class="deductions"><tr><th>metric</th><th>reference</th><th>observed</th><th>rule</th><th>points</th></tr>
{{range .R.Deductions}}<tr><td>{{.Metric}}</td><td>{{.Reference}}</td><td>{{.Observed}}</td><td>{{.Rule}}</td><td>-{{.Points}}</td></tr>
{{end}}</table>{{end}}
{{if .R.Findings}}<h3>Outside the declared model</h3>
<table class="findings"><tr><th>task</th><th>metric</th><th>bound</th><th>worst</th><th>when</th><th>jobs above</th></tr>
{{range .R.Findings}}<tr><td>{{.Task}}</td><td>{{.Metric}}</td><td>{{dur .BoundUS}}</td><td>{{dur .ObservedUS}}</td><td>{{at .AtUS}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{end}}
{{with .Box}}<h3>Black box: the board's last events before the {{.Kind}} reset at {{at .AtUS}}</h3>
<table class="blackbox"><tr><th>when</th><th>event</th></tr>
{{range .BlackBox}}<tr><td>{{at .AtUS}}</td><td>{{box .}}</td></tr>
{{end}}</table>{{end}}
<h3>Response times</h3>
<div class="hists">{{range .Hists}}{{.}}{{end}}</div>
</section>
{{end}}
</body></html>
`))

// SVG geometry.
const (
	svgWidth = 1200
	svgLeft  = 130
	rowH     = 22
	rowGap   = 6
)

func timelineSVG(r *record.RunRecord, tl *Timeline) string {
	var b strings.Builder
	span := float64(max(tl.To-tl.From, 1))
	x := func(t int64) float64 {
		t = min(max(t, tl.From), tl.To)
		return svgLeft + float64(t-tl.From)*float64(svgWidth-svgLeft-10)/span
	}
	rows := len(tl.Tasks) + len(tl.Locks)
	top := 30
	height := top + rows*(rowH+rowGap) + 40
	fmt.Fprintf(&b, `<svg class="timeline" data-run="%d" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`,
		r.Index, svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<title>Run %d, %s to %s</title>`, r.Index, At(tl.From), At(tl.To))
	// legend
	// Every mark the timeline draws is named here: the spans (boxes) and
	// the instants (lines).
	legend := []struct{ class, text string }{{"running", "running"}, {"ready", "ready"}, {"blocked", "blocked on a lock"}, {"held", "lock held"}, {"inversion", "inversion episode"}}
	lines := []struct{ class, text string }{{"fault", "fault began / ended"}, {"reset", "reset"}, {"miss", "deadline miss or watchdog expiry"}}
	fmt.Fprint(&b, `<g class="legend">`)
	for i, l := range legend {
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="6" width="12" height="12"/><text x="%d" y="16">%s</text>`, l.class, svgLeft+i*130, svgLeft+i*130+16, l.text)
	}
	for i, l := range lines {
		x0 := svgLeft + len(legend)*130 + i*150
		fmt.Fprintf(&b, `<line class="%s" x1="%d" x2="%d" y1="4" y2="20"/><text x="%d" y="16">%s</text>`, l.class, x0+6, x0+6, x0+14, l.text)
	}
	fmt.Fprint(&b, `</g>`)
	rowY := map[string]int{}
	for i, name := range tl.Tasks {
		y := top + i*(rowH+rowGap)
		rowY[name] = y
		fmt.Fprintf(&b, `<g class="row" data-task="%s"><text x="4" y="%d">%s</text>`, esc(name), y+rowH-6, esc(name))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#eee"/>`, svgLeft, svgWidth-10, y+rowH, y+rowH)
		for _, s := range tl.TaskSpans[name] {
			title := s.What
			if s.Lock != "" {
				title = "blocked on " + s.Lock
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s %s %s..%s</title></rect>`,
				s.What, x(s.From), y+2, max(x(s.To)-x(s.From), 0.5), rowH-4, esc(name), esc(title), At(s.From), At(s.To))
		}
		fmt.Fprint(&b, `</g>`)
	}
	for k, name := range tl.Locks {
		y := top + (len(tl.Tasks)+k)*(rowH+rowGap)
		fmt.Fprintf(&b, `<g class="lock-row" data-lock="%s"><text x="4" y="%d">lock %s</text>`, esc(name), y+rowH-6, esc(name))
		for _, s := range tl.LockSpans[name] {
			fmt.Fprintf(&b, `<rect class="held" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s held by %s %s..%s</title></rect>`,
				x(s.From), y+6, max(x(s.To)-x(s.From), 0.5), rowH-12, esc(name), esc(s.What), At(s.From), At(s.To))
			if w := x(s.To) - x(s.From); w > 40 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#fff">%s</text>`, x(s.From)+3, y+rowH-8, esc(s.What))
			}
		}
		fmt.Fprint(&b, `</g>`)
	}
	bottom := top + rows*(rowH+rowGap)
	for _, e := range tl.Episodes {
		y, ok := rowY[e.High]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, `<rect class="inversion" data-high="%s" data-low="%s" data-medium="%s" data-lock="%s" x="%.1f" y="%d" width="%.1f" height="%d"><title>inversion at %s: %s</title></rect>`,
			esc(e.High), esc(e.Low), esc(e.Medium), esc(e.Lock), x(e.StartUS), y-2, max(x(e.StartUS+e.LengthUS)-x(e.StartUS), 1), rowH+2+rowGap/2,
			At(e.StartUS), esc(EpisodeText(e)))
	}
	for _, m := range tl.Marks {
		class := m.Kind
		if class == "fault-begin" || class == "fault-end" {
			class = "fault"
		}
		fmt.Fprintf(&b, `<line class="%s" data-kind="%s" x1="%.1f" x2="%.1f" y1="%d" y2="%d"><title>%s %s</title></line>`,
			class, m.Kind, x(m.At), x(m.At), top-4, bottom, esc(m.Label), At(m.At))
		if m.Kind == "reset" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#b00020">reset</text>`, x(m.At)+3, bottom+12)
		}
	}
	// time axis
	for i := 0; i <= 10; i++ {
		t := tl.From + (tl.To-tl.From)*int64(i)/10
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/><text x="%.1f" y="%d" text-anchor="middle">%.3f s</text>`,
			x(t), x(t), bottom, bottom+4, x(t), bottom+28, float64(t)/1e6)
	}
	fmt.Fprint(&b, `</svg>`)
	return b.String()
}

func histSVG(name string, t analyze.TaskResult) string {
	if len(t.ResponseHist) == 0 {
		return ""
	}
	const w, h, left, bottom = 300, 156, 10, 110
	var top int64
	for _, bin := range t.ResponseHist {
		top = max(top, bin.Count)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="hist" data-task="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">`, esc(name), w, h)
	fmt.Fprintf(&b, `<text x="%d" y="12">%s: p50 %s, p99 %s, max %s</text>`, left, esc(name), Dur(t.P50ResponseUS), Dur(t.P99ResponseUS), Dur(t.MaxResponseUS))
	n := len(t.ResponseHist)
	bw := float64(w-2*left) / float64(n)
	for i, bin := range t.ResponseHist {
		bh := float64(bin.Count) / float64(top) * float64(bottom-20)
		if bin.Count > 0 && bh < 1 {
			bh = 1
		}
		x := float64(left) + float64(i)*bw
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>&le; %s: %d jobs</title></rect>`,
			x, float64(bottom)-bh, max(bw-1, 1), bh, Dur(bin.LeUS), bin.Count)
		if bin.Censored > 0 {
			// The censored samples: the top of the bar, in their own colour.
			ch := max(float64(bin.Censored)/float64(bin.Count)*bh, 1)
			fmt.Fprintf(&b, `<rect class="bar censored" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>&le; %s: %d of the %d jobs cut short by a reset (at least this long)</title></rect>`,
				x, float64(bottom)-bh, max(bw-1, 1), ch, Dur(bin.LeUS), bin.Censored, bin.Count)
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`,
		left, bottom+14, Dur(t.ResponseHist[0].LeUS), w-left, bottom+14, Dur(t.ResponseHist[n-1].LeUS))
	// Legend: every mark the histogram draws.
	fmt.Fprintf(&b, `<g class="legend"><rect class="bar" x="%d" y="%d" width="10" height="10"/><text x="%d" y="%d">jobs</text>`, left, bottom+24, left+14, bottom+33)
	if t.Censored > 0 {
		fmt.Fprintf(&b, `<rect class="bar censored" x="%d" y="%d" width="10" height="10"/><text x="%d" y="%d">%d cut short by a reset (at their time to it)</text>`,
			left+60, bottom+24, left+74, bottom+33, t.Censored)
	}
	fmt.Fprint(&b, `</g>`)
	fmt.Fprint(&b, `</svg>`)
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }
