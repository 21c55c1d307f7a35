package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/harness/drive"
	"github.com/hilchaos/hilchaos/harness/report"
)

// liveProgress is the progress display inside a run on a real-time board:
// a run there takes its duration in wall time, and a display that moves
// only when a run ends looks dead for minutes or hours. The driver reports
// the board time reached (drive.WithProgress); the display shows it with
// the resets so far, the runs passed and failed, and an ETA, refreshed
// twice a second on a terminal and every plainEvery on plain output. On the
// simulator the driver reports nothing and the display stays per run.
type liveProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil: plain lines
	label string                   // the bar's own description
	every time.Duration

	mu                   sync.Mutex
	total                int
	done, passed, failed int
	errored              int
	cur                  drive.Progress
	inRun                bool
	started              bool      // the first tick came: a real-time target
	since                time.Time // wall clock at the first tick
	boardDone            int64     // board µs of the runs finished since then
	lastLine             time.Time
	quit                 chan struct{}
	wg                   sync.WaitGroup
}

// Refresh intervals of the live display.
const (
	barEvery   = 500 * time.Millisecond
	plainEvery = 10 * time.Second
)

func newLiveProgress(w io.Writer, bar *progressbar.ProgressBar, label string, total, skipped int) *liveProgress {
	l := &liveProgress{w: w, bar: bar, label: label, total: total, done: skipped, every: plainEvery, quit: make(chan struct{})}
	if bar != nil {
		l.every = barEvery
	}
	return l
}

// context returns ctx carrying the driver's progress callback.
func (l *liveProgress) context(ctx context.Context) context.Context {
	return drive.WithProgress(ctx, l.tick)
}

// tick is the driver's report from inside a run.
func (l *liveProgress) tick(p drive.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur, l.inRun = p, true
	if !l.started {
		l.started, l.since = true, time.Now()
		l.wg.Add(1)
		go l.loop()
	}
}

// finished counts a run that ended.
func (l *liveProgress) finished(done, total int, r *harness.RunRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done, l.total = done, total
	switch r.Verdict {
	case harness.Pass:
		l.passed++
	case harness.Fail:
		l.failed++
	default:
		l.errored++
	}
	if l.started {
		l.boardDone += r.DurationUS
	}
	l.inRun = false
}

// loop refreshes the display until stop.
func (l *liveProgress) loop() {
	defer l.wg.Done()
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
			l.show()
		}
	}
}

func (l *liveProgress) show() {
	l.mu.Lock()
	line, ok := l.line()
	l.mu.Unlock()
	if !ok {
		return
	}
	if l.bar != nil {
		l.bar.Describe(l.label + " " + line)
		return
	}
	fmt.Fprintln(l.w, line)
}

// line is the display's text; ok is false between runs.
func (l *liveProgress) line() (string, bool) {
	if !l.inRun {
		return "", false
	}
	c := l.cur
	s := fmt.Sprintf("run %d/%d: board %s of %s, %d reset(s)", l.done+1, l.total,
		report.Dur(c.RunUS), report.Dur(c.DurationUS), c.Resets)
	s += fmt.Sprintf("; %d passed, %d failed", l.passed, l.failed)
	if l.errored > 0 {
		s += fmt.Sprintf(", %d errors", l.errored)
	}
	if eta, ok := l.eta(time.Since(l.since)); ok {
		s += ", eta " + eta.Round(time.Second).String()
	}
	return s, true
}

// eta scales the board time left in the campaign by the wall time each
// board second has taken so far (elapsed since the first tick).
func (l *liveProgress) eta(elapsed time.Duration) (time.Duration, bool) {
	seen := l.boardDone + l.cur.RunUS
	if seen <= 0 {
		return 0, false
	}
	wallPerBoard := float64(elapsed) / float64(seen)
	left := max(l.cur.DurationUS-l.cur.RunUS, 0) + int64(max(l.total-l.done-1, 0))*l.cur.DurationUS
	return time.Duration(float64(left) * wallPerBoard), true
}

// stop ends the refreshing.
func (l *liveProgress) stop() {
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if started {
		close(l.quit)
		l.wg.Wait()
	}
}
