// Command hilchaos is a chaos test harness for hardware-in-the-loop rigs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// StopGrace is how long the run in progress may take to finish after the
// first SIGINT or SIGTERM before it is cut short: a signal is answered
// within it, whatever the run's length.
const StopGrace = 800 * time.Millisecond

// stopHard is how long after the grace a process that still runs (it
// ignored the cancel, or is writing a very long summary) is ended.
const stopHard = 5 * time.Second

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal is graceful: no new run starts, and the run in
		// progress gets StopGrace to finish and be stored; one that needs
		// longer (a long run on a real board, a million-hour soak) is cut
		// short and stored as interrupted. The summary follows at once.
		// The second signal aborts without waiting.
		<-sigs
		fmt.Fprintf(os.Stderr, "hilchaos: interrupt: stopping; the run in progress gets %v to finish (interrupt again to abort it now)\n", StopGrace)
		close(stop)
		grace := time.AfterFunc(StopGrace, cancel)
		// Whatever does not heed the cancel (a command that never looks
		// at it) still ends: a signal is never ignored.
		time.AfterFunc(StopGrace+stopHard, func() {
			fmt.Fprintln(os.Stderr, "hilchaos: interrupt: still running after the grace; exiting")
			os.Exit(ExitInterrupted)
		})
		<-sigs
		grace.Stop()
		fmt.Fprintln(os.Stderr, "hilchaos: second interrupt: aborting the run in progress")
		cancel()
		time.AfterFunc(stopHard/10, func() { os.Exit(ExitInterrupted) })
	}()
	code := guarded(os.Stderr, func() int { return Main(WithStop(ctx, stop), os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
