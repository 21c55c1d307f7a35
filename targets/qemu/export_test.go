package qemu

import "time"

// SetDrainPause makes the target read the PTY only every d (0: at once).
func SetDrainPause(d time.Duration) { drainPause = d }
