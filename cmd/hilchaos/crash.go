package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// guarded runs f and turns a panic into exit status 3 with the stack on
// w: Go's own exit status for a panic is 2, which hilchaos keeps for
// invalid input, and a crash must never read as "your campaign is wrong".
func guarded(w io.Writer, f func() int) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(w, "hilchaos: internal error (a bug in hilchaos, not in the campaign or the board): %v\n%s", r, debug.Stack())
			code = ExitInfra
		}
	}()
	return f()
}
