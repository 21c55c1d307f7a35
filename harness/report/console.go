package report

// The board's console (PROTOCOL.md 1.4: whole lines that are not frames)
// and the link's counters, in every report: the last lines before a reset
// are what an engineer reads first, and a noisy link must be seen before a
// verdict is trusted.

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Console implements tracelog.ConsoleHandler: the console lines inside the
// timeline's window.
func (b *builder) Console(at int64, text []byte) {
	if !b.in(at) || len(b.tl.Console) >= maxConsolePane {
		return
	}
	b.tl.Console = append(b.tl.Console, record.ConsoleLine{AtUS: at, Text: string(text)})
}

// Bounds on what a report shows of a console.
const (
	maxConsolePane  = 2000 // lines in a timeline's window
	maxConsoleReset = 10   // resets whose last lines are listed
	summaryLines    = 5    // lines in the terminal's failure summary
	resetLines      = 8    // lines shown before each reset in the HTML report
)

// FirstResetConsole is the console a person reads first about a failed run:
// the last n lines before its first reset (when the board printed any),
// else the last n lines of the run; with a heading that says which.
func FirstResetConsole(r *record.RunRecord, n int) (string, []record.ConsoleLine) {
	for _, rs := range r.ResetLog {
		if len(rs.Console) > 0 {
			lines := rs.Console[max(0, len(rs.Console)-n):]
			return fmt.Sprintf("console before the %s reset at %s", rs.Kind, At(rs.AtUS)), lines
		}
		break // only the first reset's
	}
	if r.Console != nil && len(r.Console.Last) > 0 {
		last := r.Console.Last
		return fmt.Sprintf("console, the last lines of the run (%d in all)", r.Console.Lines), last[max(0, len(last)-n):]
	}
	return "", nil
}

// writeConsoleTail prints, in a failed run's summary, the last console
// lines before its first reset.
func writeConsoleTail(w io.Writer, r *record.RunRecord) {
	head, lines := FirstResetConsole(r, summaryLines)
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s:\n", head)
	for _, l := range lines {
		fmt.Fprintf(w, "    | %s  (%s)\n", l.Text, At(l.AtUS))
	}
}

// counter is one telemetry counter as reports show it. A link counter
// that is not zero makes the table appear; the others (the host's own
// retries) are shown only beside one.
type counter struct {
	name string
	get  func(record.Telemetry) uint64
	host bool // what the host did about the link, not what the link did
}

var counters = []counter{
	{"frames", func(t record.Telemetry) uint64 { return t.Frames }, true},
	{"bad CRC", func(t record.Telemetry) uint64 { return t.BadCRC }, false},
	{"malformed", func(t record.Telemetry) uint64 { return t.Malformed }, false},
	{"too long", func(t record.Telemetry) uint64 { return t.TooLong }, false},
	{"truncated", func(t record.Telemetry) uint64 { return t.Truncated }, false},
	{"garbage bytes", func(t record.Telemetry) uint64 { return t.Garbage }, false},
	{"seq gaps", func(t record.Telemetry) uint64 { return t.Gaps }, false},
	{"lost", func(t record.Telemetry) uint64 { return t.Lost }, false},
	{"board-dropped", func(t record.Telemetry) uint64 { return t.Dropped }, false},
	{"console lines", func(t record.Telemetry) uint64 { return t.Console }, false},
	{"retries", func(t record.Telemetry) uint64 { return t.Retries }, true},
	{"re-asks", func(t record.Telemetry) uint64 { return t.Reasks }, true},
	{"stalls", func(t record.Telemetry) uint64 { return t.Stalls }, false},
}

// telemetryTable is the link counters worth showing: a column per counter
// that is not zero in some run (frames always, as the scale), a row per
// run with a link counter that is not zero. It is empty when no run has
// one: a clean link, whatever the host's retries.
func telemetryTable(sum *record.Summary) (head []string, rows [][]string) {
	show := make([]bool, len(counters))
	show[0] = true
	var runs []*record.RunRecord
	for i := range sum.Runs {
		r := &sum.Runs[i]
		any := false
		for _, c := range counters {
			any = any || !c.host && c.get(r.Telemetry) > 0
		}
		if !any {
			continue
		}
		runs = append(runs, r)
		for k, c := range counters {
			show[k] = show[k] || c.get(r.Telemetry) > 0
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	head = []string{"run"}
	for k, c := range counters {
		if show[k] {
			head = append(head, c.name)
		}
	}
	for _, r := range runs {
		row := []string{fmt.Sprint(r.Index)}
		for k, c := range counters {
			if show[k] {
				row = append(row, fmt.Sprint(c.get(r.Telemetry)))
			}
		}
		rows = append(rows, row)
	}
	return head, rows
}

// writeTelemetry prints the link counters when any is not zero.
func writeTelemetry(w io.Writer, sum *record.Summary) {
	head, rows := telemetryTable(sum)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nlink (counters that are not zero; runs with any):\n")
	t := NewTable(w)
	h := make([]any, len(head))
	for i, s := range head {
		h[i] = s
	}
	t.Header(h...)
	for _, row := range rows {
		r := make([]any, len(row))
		for i, s := range row {
			r[i] = s
		}
		t.Append(r...)
	}
	t.Render()
}

// telemetryHTML is the link counters as an HTML table, or nothing.
func telemetryHTML(sum *record.Summary) template.HTML {
	head, rows := telemetryTable(sum)
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<h3>Link</h3><table class="telemetry"><tr>`)
	for _, h := range head {
		fmt.Fprintf(&b, "<th>%s</th>", esc(h))
	}
	b.WriteString("</tr>")
	for _, row := range rows {
		b.WriteString("<tr>")
		for k, v := range row {
			fmt.Fprintf(&b, `<td data-counter="%s">%s</td>`, esc(head[k]), esc(v))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return template.HTML(b.String())
}

// consolePaneHTML is the console pane beside a run's timeline: the lines
// inside the timeline's window when there is one, else the last lines of
// the run. Nothing when the board printed nothing.
func consolePaneHTML(r *record.RunRecord, tl *Timeline) template.HTML {
	var lines []record.ConsoleLine
	what := ""
	switch {
	case tl != nil && len(tl.Console) > 0:
		lines, what = tl.Console, fmt.Sprintf("console, %s to %s", At(tl.From), At(tl.To))
	case r.Console != nil && len(r.Console.Last) > 0:
		lines, what = r.Console.Last, fmt.Sprintf("console, the last %d of %d lines", len(r.Console.Last), r.Console.Lines)
	default:
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="console" data-run="%d"><div class="console-head">%s</div>`, r.Index, esc(what))
	writeLinesHTML(&b, lines)
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

// resetConsoleHTML lists, for each of the first resets, the board's last
// console lines before it.
func resetConsoleHTML(r *record.RunRecord) template.HTML {
	var b strings.Builder
	n := 0
	for _, rs := range r.ResetLog {
		if len(rs.Console) == 0 {
			continue
		}
		if n == maxConsoleReset {
			b.WriteString(`<p>(later resets left out)</p>`)
			break
		}
		if n == 0 {
			b.WriteString(`<h3>Console before each reset</h3>`)
		}
		n++
		fmt.Fprintf(&b, `<div class="console reset-console" data-reset-at="%d"><div class="console-head">before the %s reset at %s</div>`,
			rs.AtUS, esc(rs.Kind), At(rs.AtUS))
		writeLinesHTML(&b, rs.Console[max(0, len(rs.Console)-resetLines):])
		b.WriteString(`</div>`)
	}
	return template.HTML(b.String())
}

func writeLinesHTML(b *strings.Builder, lines []record.ConsoleLine) {
	for _, l := range lines {
		fmt.Fprintf(b, `<div class="console-line" data-at-us="%d"><span class="at">%.3f</span> %s</div>`, l.AtUS, float64(l.AtUS)/1e6, esc(l.Text))
	}
}

// consoleCSS styles the console panes.
const consoleCSS = `.with-console{display:flex;gap:1em;align-items:flex-start}
.console{font:12px/1.35 ui-monospace,monospace;background:#15191c;color:#d8dee4;padding:6px 8px;max-height:420px;overflow:auto;min-width:340px;max-width:560px;margin:.5em 0}
.console-head{color:#9aa5b1;border-bottom:1px solid #39424a;margin-bottom:4px}.console-line{white-space:pre-wrap}.console .at{color:#7f8c99}`

// tidConsole is the console track of a run in the Perfetto file.
const tidConsole = 901

// perfettoConsole adds the run's console lines as instant events on a
// track of their own.
func perfettoConsole(emit func(traceEvent) error, pid int, tl *Timeline) error {
	if len(tl.Console) == 0 {
		return nil
	}
	if err := emit(traceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tidConsole, Args: map[string]any{"name": "console"}}); err != nil {
		return err
	}
	if err := emit(traceEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: tidConsole, Args: map[string]any{"sort_index": tidConsole}}); err != nil {
		return err
	}
	for _, l := range tl.Console {
		if err := emit(traceEvent{Name: l.Text, Cat: "console", Ph: "i", Ts: l.AtUS, Pid: pid, Tid: tidConsole, S: "t",
			Args: map[string]any{"text": l.Text}}); err != nil {
			return err
		}
	}
	return nil
}
