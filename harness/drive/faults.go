package drive

import (
	"fmt"

	"github.com/hilchaos/hilchaos/targets/wire"
)

// maxHyperperiod bounds the re-alignment after a reset: a task set whose
// hyperperiod is longer is simply resumed where it stood.
const maxHyperperiod = 10_000_000 // µs

// hyperperiod is the least common multiple of the declared periods (µs),
// or 0 when there is none or it exceeds maxHyperperiod.
func hyperperiod(t *wire.Table) int64 {
	h := int64(0)
	for _, tk := range t.Tasks {
		if tk.Period <= 0 {
			continue
		}
		if h == 0 {
			h = tk.Period
			continue
		}
		a, b := h, tk.Period
		for b != 0 {
			a, b = b, a%b
		}
		h = h / a * tk.Period
		if h > maxHyperperiod {
			return 0
		}
	}
	return h
}

func (s *session) resolveFaults() (map[int]wire.FaultCmd, error) {
	return ResolveFaults(s.t.Name(), &s.obs.Table, s.cfg)
}

// ResolveFaults turns each campaign fault of cfg into the command form a
// board with table tbl understands, once per fault spec (not per firing).
// target names the board in the error.
func ResolveFaults(target string, tbl *wire.Table, cfg *Config) (map[int]wire.FaultCmd, error) {
	out := map[int]wire.FaultCmd{}
	for _, f := range cfg.Faults {
		if _, done := out[f.Spec]; done {
			continue
		}
		fc, err := cfg.Resolve(tbl, f.Spec)
		if err != nil {
			name := fmt.Sprint(f.Spec)
			if cfg.FaultName != nil {
				name = cfg.FaultName(f.Spec)
			}
			return nil, &RefusedError{Target: target, Command: "fault " + name, Reason: err.Error()}
		}
		out[f.Spec] = fc
	}
	return out, nil
}
