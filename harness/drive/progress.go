package drive

import "context"

// Progress is where a run on a real-time board stands, in the board's
// time: what a live display shows while the run goes on.
type Progress struct {
	RunUS      int64 // run time reached, µs (board time, continuing across resets)
	DurationUS int64 // the run's length, µs
	Resets     int   // resets so far in this run
}

// progressEvery is how much board time passes between two Progress calls.
const progressEvery = 100_000 // µs

type progressKey struct{}

// WithProgress returns ctx carrying f: a Run under it on a target that
// runs in real time (not one that owns its clock, such as the simulator,
// whose runs take no time worth watching) calls f as board time advances,
// every 100 ms of it, and at each reset. f runs on the driver's goroutine
// and must return quickly.
func WithProgress(ctx context.Context, f func(Progress)) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

func progressOf(ctx context.Context) func(Progress) {
	f, _ := ctx.Value(progressKey{}).(func(Progress))
	return f
}

// progress tells the caller where the run stands when due (or forced).
func (s *session) progress(force bool) {
	if s.tick == nil || !force && s.lastRun-s.lastTick < progressEvery {
		return
	}
	s.lastTick = s.lastRun
	s.tick(Progress{RunUS: s.lastRun, DurationUS: s.cfg.Duration, Resets: s.obs.ResetCount})
}
