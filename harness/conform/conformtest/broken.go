// Package conformtest makes deliberately broken boards out of a good one,
// to show that `hilchaos conform` names the rules they break. A Broken
// target sits between the host and a board and rewrites whole frames in
// either direction (with a correct CRC, so only the flaw is wrong).
package conformtest

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hilchaos/hilchaos/targets"
	"github.com/hilchaos/hilchaos/targets/wire"
)

// Flaw is one way a board gets the protocol wrong.
type Flaw string

// Flaws, each breaking one rule (the rule in the comment).
const (
	// LateFaults fires every scheduled fault 5 ms late (fault-timing).
	LateFaults Flaw = "late-faults"
	// TECount announces one task more in TE than it sent (table).
	TECount Flaw = "te-count"
	// LongFrame sends a 130-byte frame after every banner (frame-length).
	LongFrame Flaw = "long-frame"
	// SeqSkip skips a sequence number after every GO event (sequence).
	SeqSkip Flaw = "seq-skip"
	// VagueNak refuses with the reason "error" whatever the cause (nak-reasons).
	VagueNak Flaw = "vague-nak"
	// ForgetIDs carries out a repeated command id again (idempotent-ids,
	// on a version 2 board).
	ForgetIDs Flaw = "forget-ids"
)

// Console is no flaw: the board prints console lines (PROTOCOL.md 1.4) as
// real firmware does: a boot message after each banner, a warning after
// each deadline miss, an assert when the watchdog expires. No rule forbids
// them; reports show them.
const Console Flaw = "console"

// V1 is no flaw either: the board speaks protocol version 1 (a BT of 6
// fields, no ID command: it stays silent, as for any frame it does not
// know).
const V1 Flaw = "v1"

// Flaws lists every flaw.
var Flaws = []Flaw{LateFaults, TECount, LongFrame, SeqSkip, VagueNak, ForgetIDs}

// Breaks is the rule each flaw breaks.
var Breaks = map[Flaw]string{
	LateFaults: "fault-timing", TECount: "table", LongFrame: "frame-length",
	SeqSkip: "sequence", VagueNak: "nak-reasons", ForgetIDs: "idempotent-ids",
}

// Broken is a board with flaws.
type Broken struct {
	targets.Target
	clk   targets.Clock
	flaws map[Flaw]bool

	in      []byte // board bytes not yet a whole line
	out     []byte // rewritten bytes for the host
	host    []byte // host bytes not yet a whole line
	skipped bool   // SeqSkip: the numbering is one ahead from here on
	skip    uint32
	fresh   uint32            // ForgetIDs: next id handed to the board
	orig    map[uint32]uint32 // ForgetIDs: board id -> host id
}

// New wraps t with flaws.
func New(t targets.Target, flaws ...Flaw) *Broken {
	b := &Broken{Target: t, clk: targets.ClockOf(t), flaws: map[Flaw]bool{}, fresh: 3_000_000_000, orig: map[uint32]uint32{}}
	for _, f := range flaws {
		b.flaws[f] = true
	}
	return b
}

// Now keeps the inner board's clock (a simulated board's virtual time).
func (b *Broken) Now() time.Time { return b.clk.Now() }

// Name implements targets.Target.
func (b *Broken) Name() string {
	var fs []string
	for _, f := range Flaws {
		if b.flaws[f] {
			fs = append(fs, string(f))
		}
	}
	return b.Target.Name() + " (broken: " + strings.Join(fs, ", ") + ")"
}

// Read returns the board's bytes, whole lines rewritten.
func (b *Broken) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		buf := make([]byte, max(len(p), 256))
		n, err := b.Target.Read(buf)
		b.in = append(b.in, buf[:n]...)
		for {
			i := bytes.IndexByte(b.in, '\n')
			if i < 0 {
				break
			}
			b.out = append(b.out, b.board(b.in[:i+1])...)
			b.in = b.in[i+1:]
		}
		if err != nil && len(b.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// Write passes the host's bytes on, whole lines rewritten.
func (b *Broken) Write(p []byte) (int, error) {
	b.host = append(b.host, p...)
	var send []byte
	for {
		i := bytes.IndexByte(b.host, '\n')
		if i < 0 {
			break
		}
		send = append(send, b.command(b.host[:i+1])...)
		b.host = b.host[i+1:]
	}
	if len(send) > 0 {
		if _, err := b.Target.Write(send); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// fields splits a valid frame line into its type and fields, or nil.
func fields(line []byte) []string {
	var f wire.Frame
	if wire.ParseFrame(line, &f) != nil {
		return nil
	}
	out := []string{f.Type.String()}
	for i := range f.NField {
		out = append(out, string(f.Fields[i]))
	}
	return out
}

// frame encodes a type and fields with a correct CRC.
func frame(fs []string) []byte {
	body := strings.Join(fs, ",")
	return fmt.Appendf(nil, "$%s*%04X\n", body, wire.CRC16([]byte(body)))
}

func atoi(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }

// board rewrites one line from the board.
func (b *Broken) board(line []byte) []byte {
	fs := fields(bytes.TrimRight(line, "\r\n"))
	if fs == nil {
		return line
	}
	switch fs[0] {
	case "TE":
		if b.flaws[TECount] {
			fs[1] = strconv.FormatUint(atoi(fs[1])+1, 10)
		}
	case "BT":
		b.skip = 0
		if b.flaws[V1] && len(fs) > 7 {
			fs = fs[:7]
		}
		out := frame(fs)
		if b.flaws[LongFrame] {
			out = append(out, frame([]string{"EV", "0", "0", "RL", "0", strings.Repeat("9", 110)})...)
		}
		if b.flaws[Console] {
			out = append(out, fmt.Sprintf("kernel: boot %s, reason %s\r\n", fs[5], fs[4])...)
		}
		return out
	case "EV", "SM", "DN":
		fs[1] = strconv.FormatUint(atoi(fs[1])+uint64(b.skip), 10)
		if b.flaws[SeqSkip] && fs[0] == "EV" && fs[3] == "GO" {
			b.skip++
		}
		if b.flaws[Console] && fs[0] == "EV" {
			switch fs[3] {
			case "DM":
				task, job := "-1", "0"
				if len(fs) > 4 {
					task = fs[4]
				}
				if len(fs) > 5 {
					job = fs[5]
				}
				return append(frame(fs), fmt.Sprintf("WARN task %s missed its deadline (job %s) at %s us\n", task, job, fs[2])...)
			case "WX":
				return append(frame(fs), fmt.Sprintf("ASSERT sched.c:88 watchdog expired at %s us\n", fs[2])...)
			}
		}
	case "NK":
		if b.flaws[VagueNak] {
			fs[2] = "error"
		}
		fallthrough
	case "AK":
		if host, ok := b.orig[uint32(atoi(fs[1]))]; ok {
			fs[1] = strconv.FormatUint(uint64(host), 10)
		}
	}
	return frame(fs)
}

// command rewrites one line from the host.
func (b *Broken) command(line []byte) []byte {
	fs := fields(bytes.TrimRight(line, "\r\n"))
	if fs == nil {
		return line
	}
	if b.flaws[V1] && fs[0] == "ID" {
		return nil
	}
	if b.flaws[LateFaults] && fs[0] == "SF" {
		fs[2] = strconv.FormatUint(atoi(fs[2])+5000, 10)
	}
	if b.flaws[ForgetIDs] && slices.Contains([]string{"PG", "CF", "SF", "FN", "GO", "SP", "RS", "DP", "ID"}, fs[0]) {
		b.fresh++
		b.orig[b.fresh] = uint32(atoi(fs[1]))
		fs[1] = strconv.FormatUint(uint64(b.fresh), 10)
	}
	return frame(fs)
}
