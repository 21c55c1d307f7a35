package shrink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LogFile is the trial log's name inside DIR/shrink/.
const LogFile = "trials.jsonl"

// Entry is one line of the trial log.
type Entry struct {
	Key     string `json:"key"` // the candidate's key (with the oracle's salt)
	Rep     int    `json:"rep"` // which repetition of the candidate
	Step    string `json:"step"`
	Firings int    `json:"firings"`
	Outcome
}

type logKey struct {
	key string
	rep int
}

// Log is the append-only record of every trial. Each line is written and
// synced before the trial counts, so a shrink killed at any moment resumes
// with every finished trial answered from the log.
type Log struct {
	path string
	f    *os.File
	seen map[logKey]Outcome
	// Warning is set when a torn last line (a kill during a write) was cut.
	Warning error
}

// OpenLog opens (creating if needed) the trial log at path and reads the
// trials already in it.
func OpenLog(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("trial log: %w", err)
	}
	l := &Log{path: path, seen: map[logKey]Outcome{}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trial log: %w", err)
	}
	if n := len(data); n > 0 && data[n-1] != '\n' {
		cut := bytes.LastIndexByte(data, '\n') + 1
		l.Warning = fmt.Errorf("%s: incomplete last line dropped (interrupted write)", path)
		if err := os.Truncate(path, int64(cut)); err != nil {
			return nil, fmt.Errorf("trial log: %w", err)
		}
		data = data[:cut]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if e.Key == "" {
			return nil, fmt.Errorf("%s:%d: entry without a key", path, line)
		}
		l.seen[logKey{e.Key, e.Rep}] = e.Outcome
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("trial log: %w", err)
	}
	l.f = f
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			f.Close()
			return nil, fmt.Errorf("trial log: sync %s: %w", filepath.Dir(path), serr)
		}
	}
	return l, nil
}

// Len is the number of trials in the log.
func (l *Log) Len() int { return len(l.seen) }

// lookup returns a recorded trial.
func (l *Log) lookup(key string, rep int) (Outcome, bool) {
	o, ok := l.seen[logKey{key, rep}]
	return o, ok
}

// append records a trial and syncs it to disk.
func (l *Log) append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", l.path, err)
	}
	l.seen[logKey{e.Key, e.Rep}] = e.Outcome
	return nil
}

// Close closes the log file.
func (l *Log) Close() error { return l.f.Close() }
