package firmware

// tmReleaseDue is a release timer that also checks, first, the deadline
// of the task's job released one period before (arg: its job number): the
// deadline timer and the release timer of a task whose deadline is its
// period, in one (see release).
const tmReleaseDue = tmStormEnd + 1

// replaceTop replaces the root of a non-empty heap by t: a pop and a push
// in one sift-down.
func (h timerHeap) replaceTop(t timer) { h.siftDown(t) }

// deadline checks job num of task ti at its deadline.
func (b *Board) deadline(ti int32, num int64) {
	tk := &b.tasks[ti]
	if num < tk.done {
		return // finished in time
	}
	b.miss(ti, tk.queue[num-tk.done])
}
