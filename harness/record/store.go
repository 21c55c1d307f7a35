package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RunsFile is the run log's name inside a results directory.
const RunsFile = "runs.jsonl"

// Store appends run records to DIR/runs.jsonl, each written and synced to
// disk before Append returns, so a crash loses at most the run in progress.
type Store struct {
	dir string
	f   *os.File
	// Warnings says what opening repaired: a last record cut short by a
	// crash, dropped so the next one starts on its own line.
	Warnings []error
}

// OpenStore opens (creating if needed) a results directory and locks it
// (flock on the run log) for as long as the store is open: a second
// hilchaos writing into the same directory is refused with *LockedError.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	path := filepath.Join(dir, RunsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, &LockedError{Dir: dir, Err: err}
	}
	torn, err := dropTornTail(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("results directory: %w", err)
	}
	// Syncing the records is not enough for a new log: its name must be
	// on disk too, or a power cut can lose the whole file.
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("results directory: %w", err)
	}
	s := &Store{dir: dir, f: f}
	if torn > 0 {
		s.Warnings = append(s.Warnings, fmt.Errorf("%s:%d: incomplete last record ignored (interrupted write)", path, torn))
	}
	return s, nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", dir, err)
	}
	return nil
}

// dropTornTail cuts a last line that a crash left without its newline (a
// record whose write was interrupted: the run in progress, never counted
// as done), so the next record starts on a line of its own. Complete lines
// are never touched.
// It returns the line number of the dropped record, or 0.
func dropTornTail(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && (len(data) == 0 || data[len(data)-1] == '\n')) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keep := bytes.LastIndexByte(data, '\n') + 1
	return bytes.Count(data[:keep], []byte{'\n'}) + 1, os.Truncate(path, int64(keep))
}

// Dir is the results directory.
func (s *Store) Dir() string { return s.dir }

// Append writes one record as one line and syncs it.
func (s *Store) Append(r *RunRecord) error {
	if err := s.Write(r); err != nil {
		return err
	}
	return s.Sync()
}

// Write writes one record as one line, without a sync: records written
// together are made durable by one Sync (group commit).
func (s *Store) Write(r *RunRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("%s: %w", s.f.Name(), err)
	}
	return nil
}

// Sync makes the records written so far durable.
func (s *Store) Sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", s.f.Name(), err)
	}
	return nil
}

// Close closes the log and releases the directory's lock.
func (s *Store) Close() error { return s.f.Close() }

// ReadRuns reads every complete record of DIR/runs.jsonl. A last line cut
// short by a crash (kill -9 during the write) is not an error: it is left
// out and reported in the returned warnings. A damaged line elsewhere is an
// error naming the file and line.
func ReadRuns(dir string) (recs []RunRecord, warnings []error, err error) {
	path := filepath.Join(dir, RunsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lines := bytes.Split(data, []byte{'\n'})
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r RunRecord
		if err := json.Unmarshal(line, &r); err != nil {
			if i == len(lines)-1 {
				warnings = append(warnings, fmt.Errorf("%s:%d: incomplete last record ignored (interrupted write)", path, i+1))
				continue
			}
			return recs, warnings, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs, warnings, nil
}
