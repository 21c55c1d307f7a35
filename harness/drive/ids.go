package drive

import "sync/atomic"

// IDs hands out command ids. One IDs shared by every run of a campaign (and
// by runs on several rigs at once) never gives the same id twice, so a
// board that remembers the ids it answered never mistakes a new command
// for a repeat of an old one.
type IDs struct{ n atomic.Uint32 }

// NewIDs returns a source whose first id is base+1.
func NewIDs(base uint32) *IDs {
	ids := &IDs{}
	ids.n.Store(base)
	return ids
}

// Next returns a fresh id, never 0.
func (ids *IDs) Next() uint32 {
	for {
		if id := ids.n.Add(1); id != 0 {
			return id
		}
	}
}
