// Command hilchaos is a chaos test harness for hardware-in-the-loop rigs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal is graceful: the run in progress finishes and is
		// stored, then the summary is written. The second aborts.
		<-sigs
		fmt.Fprintln(os.Stderr, "hilchaos: interrupt: finishing the run in progress, then writing the summary (interrupt again to abort it)")
		close(stop)
		<-sigs
		fmt.Fprintln(os.Stderr, "hilchaos: second interrupt: aborting the run in progress")
		cancel()
	}()
	code := Main(WithStop(ctx, stop), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
