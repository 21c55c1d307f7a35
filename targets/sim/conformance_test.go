package sim_test

import (
	"net/url"
	"sync"
	"testing"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/sim"
	"github.com/hilchaos/hilchaos/targets/targettest"
)

// noisy puts injected bytes in front of the simulated board's next read.
// The simulator has no line to be noisy, so this is the one rig where the
// noise is spliced in on the host side; its Read hands over whole frames,
// so the noise lands between two frames, as it does on a real line.
type noisy struct {
	*sim.Target
	mu      sync.Mutex
	pending []byte
}

func (n *noisy) Read(p []byte) (int, error) {
	n.mu.Lock()
	if len(n.pending) > 0 {
		k := copy(p, n.pending)
		n.pending = n.pending[k:]
		n.mu.Unlock()
		return k, nil
	}
	n.mu.Unlock()
	return n.Target.Read(p)
}

func (n *noisy) inject(p []byte) {
	n.mu.Lock()
	n.pending = append(n.pending, p...)
	n.mu.Unlock()
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Rig {
		u, _ := url.Parse("sim://pathfinder?mutex=none")
		tg, err := targets.Open(u.String(), targets.Options{Seed: 1, Trace: 1})
		if err != nil {
			t.Fatal(err)
		}
		n := &noisy{Target: tg.(*sim.Target)}
		return targettest.Rig{Target: n, Inject: n.inject}
	})
}
