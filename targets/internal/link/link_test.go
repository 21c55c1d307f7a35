package link

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hilchaos/hilchaos/targets"
)

var errGone = errors.New("board gone")

// A second caller that waited while the first one dialled in vain gets the
// same verdict; it does not start a reconnect window of its own.
func TestFailedLinkIsNotRedialled(t *testing.T) {
	var dials atomic.Int32
	release := make(chan struct{})
	dial := func() (Conn, error) {
		if dials.Add(1) == 1 {
			<-release
		}
		return nil, errors.Join(targets.ErrUnreachable, errGone)
	}
	l := New("test", nil, dial, 0)
	l.downAt, l.cause = time.Now(), errGone

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[0] = l.get() }()
	for dials.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[1] = l.get() }()
	time.Sleep(50 * time.Millisecond) // let the second caller queue behind the first
	close(release)
	wg.Wait()

	for i, err := range errs {
		if !errors.Is(err, targets.ErrUnreachable) {
			t.Errorf("caller %d: %v, want ErrUnreachable", i, err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1: the link had already failed", n)
	}
}
