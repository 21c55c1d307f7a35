package farm

import (
	"fmt"
	"sync"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Health is what a campaign did to one rig: the rig health table.
type Health = record.RigHealth

// Outcome is how a run on a rig ended, for the rig's health.
type Outcome int

// Outcomes.
const (
	Passed Outcome = iota
	Failed
	RigError
)

// Pool hands out the rigs of one campaign, one run per rig at a time, and
// keeps their health: a rig with MaxConsecutiveErrors rig errors in a row
// is power-cycled if it has a power argv and was not power-cycled since its
// last good run, and quarantined otherwise. Its methods are safe for
// concurrent use.
type Pool struct {
	mu      sync.Mutex
	members []*member
}

type member struct {
	rig         Rig
	health      Health
	busy        bool
	consecutive int
	cycled      bool // power-cycled since the last good run
	flashed     bool // the campaign's firmware was written to it
}

// NewPool makes a pool of rigs. A rig with MaxConsecutiveErrors 0 is never
// quarantined (an instance of a simulated board, say).
func NewPool(rigs []Rig) *Pool {
	p := &Pool{}
	for _, r := range rigs {
		p.members = append(p.members, &member{rig: r, health: Health{Name: r.Name, Target: r.Target}})
	}
	return p
}

// Len is the number of rigs, quarantined ones included.
func (p *Pool) Len() int { return len(p.members) }

// Acquire takes a free rig that is not quarantined, preferring one not in
// avoid (the rigs a run already failed on). It returns -1 when the caller
// must wait for a rig to be released. A rig in avoid is given only when
// every rig still in service is in avoid.
func (p *Pool) Acquire(avoid map[int]bool) (int, Rig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	others := false
	for i, m := range p.members {
		if !m.health.Quarantined && !avoid[i] {
			others = true
			if !m.busy {
				m.busy = true
				return i, m.rig
			}
		}
	}
	if others {
		return -1, Rig{}
	}
	for i, m := range p.members {
		if !m.health.Quarantined && !m.busy {
			m.busy = true
			return i, m.rig
		}
	}
	return -1, Rig{}
}

// InService is how many rigs are not quarantined.
func (p *Pool) InService() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.members {
		if !m.health.Quarantined {
			n++
		}
	}
	return n
}

// Done records how a run on rig i ended. It returns true when the rig
// should be power-cycled (then call PowerCycled) before it is released;
// otherwise the rig is released, or quarantined.
func (p *Pool) Done(i int, o Outcome, errText string) (powerCycle bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[i]
	m.health.Runs++
	switch o {
	case Passed, Failed:
		if o == Passed {
			m.health.Passed++
		} else {
			m.health.Failed++
		}
		m.consecutive, m.cycled = 0, false
	case RigError:
		m.health.Errors++
		m.consecutive++
		if max := m.rig.MaxConsecutiveErrors; max > 0 && m.consecutive >= max {
			if len(m.rig.Power) > 0 && !m.cycled {
				return true
			}
			m.health.Quarantined = true
			m.health.Reason = fmt.Sprintf("%d rig errors in a row, the last: %s", m.consecutive, errText)
		}
	}
	m.busy = false
	return false
}

// PowerCycled records the power cycle Done asked for, and releases the
// rig: one more rig error quarantines it. A power cycle that failed
// quarantines it at once.
func (p *Pool) PowerCycled(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[i]
	m.health.PowerCycles++
	m.cycled = true
	m.consecutive = max(0, m.rig.MaxConsecutiveErrors-1)
	if err != nil {
		m.health.Quarantined = true
		m.health.Reason = fmt.Sprintf("power cycle failed: %v", err)
	}
	m.busy = false
}

// Health is every rig's health, in inventory order.
func (p *Pool) Health() []Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Health, len(p.members))
	for i, m := range p.members {
		out[i] = m.health
	}
	return out
}

// Flashed reports whether rig i was flashed with the campaign's firmware.
func (p *Pool) Flashed(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.members[i].flashed
}

// SetFlashed records that rig i now runs the campaign's firmware.
func (p *Pool) SetFlashed(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.members[i].flashed = true
}

// Quarantine takes rig i out of service at once: its target can never be
// opened as it is (no such device, no such host, permission denied).
func (p *Pool) Quarantine(i int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[i]
	if !m.health.Quarantined {
		m.health.Quarantined = true
		m.health.Reason = "cannot be opened: " + reason
	}
}

// Rigs is every rig of the pool, quarantined ones included, in inventory
// order.
func (p *Pool) Rigs() []Rig {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Rig, len(p.members))
	for i, m := range p.members {
		out[i] = m.rig
	}
	return out
}
