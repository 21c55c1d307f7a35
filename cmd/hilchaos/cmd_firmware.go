package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/firmware"
	"github.com/hilchaos/hilchaos/targets/boardserver"
)

type serveOptions struct {
	profile     string
	mutex       string
	baud        int
	trace       int
	seed        uint64
	pty         bool
	link        string
	listen      string
	freezeAfter time.Duration
}

func (o *serveOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.profile, "profile", "pathfinder", "task set: a built-in profile name or a task-set YAML file")
	f.StringVar(&o.mutex, "mutex", "none", "mutex protocol at power-on: none, inherit or ceiling")
	f.IntVar(&o.baud, "baud", boardserver.DefaultBaud, "modelled UART speed in baud (0: unlimited)")
	f.IntVar(&o.trace, "trace", 1, "trace level at power-on: 0 summaries, 1 default, 2 full")
	f.Uint64Var(&o.seed, "seed", 0, "seed for the task execution times")
	f.BoolVar(&o.pty, "pty", false, "serve on a new pseudo-terminal; its path is the first line on stdout")
	f.StringVar(&o.link, "link", "", "with --pty: also make a symlink at this path to the PTY, replaced on restart")
	f.StringVar(&o.listen, "listen", "", "serve on a TCP address instead (127.0.0.1:PORT; :0 picks a port); the address is the first line on stdout")
	f.DurationVar(&o.freezeAfter, "freeze-after", 0, "testing: hang once, this long after the first GO, until a reset command")
	_ = f.MarkHidden("freeze-after")
}

func (a *app) firmwareCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "firmware",
		Short: "Run the bundled reference firmware",
	}
	cmd.AddCommand(a.serveCommand())
	return cmd
}

func (a *app) serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve (--pty [--link PATH] | --listen ADDR)",
		Short: "Run the reference firmware in real time on a pseudo-terminal or a TCP port",
		Long: `Run the reference firmware model paced to the wall clock, speaking the
wire protocol on a new pseudo-terminal (--pty) or a TCP listener (--listen),
so the whole serial path can be tested with no hardware:

  hilchaos firmware serve --pty --link /tmp/board &
  hilchaos run campaigns/pathfinder.yaml --target serial:///tmp/board

The first line on stdout is the PTY's path (/dev/pts/N) or the listening
address, for scripts. The board boots (BOOT reason POR) when the server
starts; a watchdog reset reboots it on the same line after the profile's
boot delay (BOOT reason WDT, boot count + 1); RS reboots it (reason SW).
SIGUSR1 power-cycles it, as a rig's power switch would: it boots again
from power-on (reason POR, boot count 1), so a rigs.yaml power argv such
as [kill, -USR1, PID] gives a served board a power switch.
SIGINT or SIGTERM stop it (exit status 0).
`,
		Example: `  hilchaos firmware serve --pty
  hilchaos firmware serve --pty --mutex inherit --link /tmp/board
  hilchaos firmware serve --listen 127.0.0.1:4001`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.pty == (o.listen != ""):
				return withCode(ExitInvalid, errors.New("give exactly one of --pty and --listen"))
			case o.link != "" && !o.pty:
				return withCode(ExitInvalid, errors.New("--link needs --pty"))
			case o.baud < 0:
				return withCode(ExitInvalid, fmt.Errorf("--baud %d: must not be negative", o.baud))
			case o.trace < 0 || o.trace > 2:
				return withCode(ExitInvalid, fmt.Errorf("--trace %d: want 0, 1 or 2", o.trace))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.serve(cmd, o) },
	}
	o.addFlags(cmd)
	return cmd
}

// loadProfile resolves a built-in profile name or a task-set file.
func loadProfile(name string) (*firmware.Profile, error) {
	p, err := firmware.Lookup(name)
	if err == nil {
		return p, nil
	}
	if _, serr := os.Stat(name); serr != nil {
		return nil, fmt.Errorf("--profile %q: not a built-in profile (%v) nor a file", name, firmware.Profiles())
	}
	return firmware.LoadProfile(name)
}

func (a *app) serve(cmd *cobra.Command, o serveOptions) error {
	p, err := loadProfile(o.profile)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	mutex, err := firmware.ParseProtocol(o.mutex)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("--mutex: %w", err))
	}
	s, err := boardserver.New(boardserver.Config{
		Profile:     p,
		Board:       firmware.Config{Mutex: mutex, Baud: o.baud, Trace: o.trace, Seed: o.seed},
		FreezeAfter: o.freezeAfter,
	})
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	// A server has no run to finish: the first SIGINT or SIGTERM, which
	// main turns into the stop channel only, stops it.
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	go func() {
		select {
		case <-stopOf(ctx):
			cancel()
		case <-ctx.Done():
		}
	}()
	// SIGUSR1 is the board's power switch (a rig's power argv sends it).
	power := make(chan os.Signal, 1)
	signal.Notify(power, syscall.SIGUSR1)
	defer signal.Stop(power)
	go func() {
		for {
			select {
			case <-power:
				s.PowerCycle(0)
			case <-ctx.Done():
				return
			}
		}
	}()
	if o.pty {
		pt, err := boardserver.OpenPTY(o.link)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		defer pt.Close()
		fmt.Fprintln(a.stdout, pt.Path)
		if o.link != "" {
			fmt.Fprintf(a.stderr, "firmware serve: %s (%s, mutex %s) on %s, linked from %s\n", p.Name, p.Version, mutex, pt.Path, o.link)
		} else {
			fmt.Fprintf(a.stderr, "firmware serve: %s (%s, mutex %s) on %s\n", p.Name, p.Version, mutex, pt.Path)
		}
		return s.ServePTY(ctx, pt)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	fmt.Fprintln(a.stdout, ln.Addr().String())
	fmt.Fprintf(a.stderr, "firmware serve: %s (%s, mutex %s) on tcp %s\n", p.Name, p.Version, mutex, ln.Addr())
	return s.ServeListener(ctx, ln)
}
