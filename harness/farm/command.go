package farm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Command is one run of a rig's flash or power argv, as kept in a record.
type Command = record.Command

// MaxOutput is how much of a command's output a record keeps (its end).
const MaxOutput = 4096

// Port is what {port} stands for in a rig's argv: the device path of a
// serial:// target, host:port of a tcp:// one, the URL otherwise.
func Port(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	switch {
	case u.Path != "" && u.Host == "":
		return u.Path
	case u.Host != "" && u.Path == "":
		return u.Host
	case u.Host != "":
		return u.Host + u.Path
	}
	return target
}

// Expand replaces {firmware} and {port} in each argument. Nothing else is
// interpreted: there is no shell, so an argument is one argument whatever
// it contains.
func Expand(argv []string, firmware, port string) []string {
	r := strings.NewReplacer("{firmware}", firmware, "{port}", port)
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

// Run executes argv (already expanded) without a shell, killing it after
// timeout. The error names the program and says how it ended.
func Run(ctx context.Context, argv []string, timeout time.Duration) (Command, error) {
	c := Command{Argv: argv, ExitCode: -1}
	if len(argv) == 0 {
		err := errors.New("empty argv")
		c.Error = err.Error()
		return c, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	c.Output = string(out.b)
	if cmd.ProcessState != nil {
		c.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%s: killed after %v", argv[0], timeout)
		} else {
			err = fmt.Errorf("%s: %w", argv[0], err)
		}
		if o := strings.TrimSpace(lastLine(c.Output)); o != "" {
			err = fmt.Errorf("%w (%s)", err, o)
		}
		c.Error = err.Error()
	}
	return c, err
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// tail keeps the last MaxOutput bytes written.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > MaxOutput {
		t.b = bytes.Clone(t.b[len(t.b)-MaxOutput:])
	}
	return len(p), nil
}
