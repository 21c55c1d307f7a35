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

// An error that waiting cannot cure ends the first open after one dial,
// however long the window.
func TestPermanentErrorIsNotRetried(t *testing.T) {
	var dials atomic.Int32
	dial := func() (Conn, error) {
		dials.Add(1)
		return nil, errors.Join(targets.ErrUnreachable, targets.ErrPermanent, errGone)
	}
	_, err := DialNew("test", dial, time.Hour)
	if !errors.Is(err, targets.ErrUnreachable) || !errors.Is(err, errGone) {
		t.Fatalf("err = %v, want unreachable and the cause", err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
	if msg := err.Error(); msg != "cannot open: "+errors.Join(targets.ErrUnreachable, targets.ErrPermanent, errGone).Error() {
		t.Errorf("message %q: want only \"cannot open\" and the cause, no window", msg)
	}
}
