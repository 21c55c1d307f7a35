// Package gotest tests the hilchaos board agent, in C (hc_agent.c,
// hc_agent.h, hc_port.h; docs/AGENT.md). Its Go tests build it for the host
// with gcc (host/hc_host.c is the test port) and check what it sends with
// the Go decoder in targets/wire.
package gotest
