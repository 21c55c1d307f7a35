package wire

// Table is what a board declares after every boot: its tasks and locks.
type Table struct {
	Tasks []TaskInfo
	Locks []LockInfo
}

// TaskIndex returns the index of the named task.
func (t *Table) TaskIndex(name string) (int, bool) {
	for _, x := range t.Tasks {
		if x.Name == name {
			return x.Index, true
		}
	}
	return 0, false
}

// LockIndex returns the index of the named lock.
func (t *Table) LockIndex(name string) (int, bool) {
	for _, x := range t.Locks {
		if x.Name == name {
			return x.Index, true
		}
	}
	return 0, false
}

// TaskName returns the name of task i, or "?i" when the board declared none.
func (t *Table) TaskName(i int32) string {
	if i >= 0 && int(i) < len(t.Tasks) {
		return t.Tasks[i].Name
	}
	if i == NoTask {
		return "idle"
	}
	return "?"
}
