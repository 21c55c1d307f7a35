package targets_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hilchaos/hilchaos/targets"
)

func TestParseHints(t *testing.T) {
	for raw, want := range map[string]string{
		"/dev/ttyUSB0":     "did you mean serial:///dev/ttyUSB0?",
		"rig7.lab:3001":    "did you mean tcp://rig7.lab:3001?",
		"127.0.0.1:3001":   "did you mean tcp://127.0.0.1:3001?",
		"bogus://x":        "unknown scheme",
		"ttyUSB0":          "unknown scheme",
		"rig7.lab:console": "unknown scheme",
	} {
		_, _, err := targets.Parse(raw)
		var ue *targets.URLError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a URLError", raw, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", raw, err, want)
		}
		if want == "unknown scheme" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: %q guesses", raw, err)
		}
	}
}
