package wire

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

// docFrame is an example frame found in docs/PROTOCOL.md.
type docFrame struct {
	lineNo int
	dir    string // "->" host to board, "<-" board to host, "" unstated
	text   string
}

// docFrames returns every line inside a fenced code block of the protocol
// document that is a frame: it starts with '$', or with "-> $" / "<- $".
func docFrames(t *testing.T) []docFrame {
	t.Helper()
	data, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docFrame
	inCode := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		dir := ""
		if d, rest, ok := strings.Cut(l, " "); ok && (d == "->" || d == "<-") {
			dir, l = d, rest
		}
		if strings.HasPrefix(l, "$") {
			out = append(out, docFrame{n, dir, l})
		}
	}
	return out
}

// TestProtocolDocExamples keeps docs/PROTOCOL.md honest: every example
// frame has a valid CRC, decodes with its type's decoder, is exactly what
// the encoder writes for the decoded value, and travels in the direction
// the session says.
func TestProtocolDocExamples(t *testing.T) {
	frames := docFrames(t)
	types := map[Type]bool{}
	kinds := map[EventKind]bool{}
	for _, d := range frames {
		var f Frame
		if err := ParseFrame([]byte(d.text), &f); err != nil {
			t.Errorf("PROTOCOL.md:%d: %q: %v (CRC should be %04X)", d.lineNo, d.text, err, docCRC(d.text))
			continue
		}
		types[f.Type] = true
		if f.Type == TypeEvent || f.Type == TypeBlackBox {
			ev, err := f.Event()
			if err != nil {
				t.Errorf("PROTOCOL.md:%d: %v", d.lineNo, err)
			}
			kinds[ev.Kind] = true
			if got := string(appendEvent(nil, f.Type, ev)); got != d.text+"\n" {
				t.Errorf("PROTOCOL.md:%d: %q, encoder writes %q", d.lineNo, d.text, got)
			}
		} else {
			recodeSame(t, &f, []byte(d.text+"\n"))
		}
		if (d.dir == "->" && !IsCommand(f.Type)) || (d.dir == "<-" && IsCommand(f.Type)) {
			t.Errorf("PROTOCOL.md:%d: %v frame marked %s", d.lineNo, f.Type, d.dir)
		}
	}
	if len(frames) < 60 {
		t.Errorf("only %d example frames in PROTOCOL.md", len(frames))
	}
	for ty := TypeBoot; ty < numTypes; ty++ {
		if !types[ty] {
			t.Errorf("PROTOCOL.md has no example of a %v frame", ty)
		}
	}
	for k := EvRelease; k < numEventKinds; k++ {
		if !kinds[k] {
			t.Errorf("PROTOCOL.md has no example of a %v event", k)
		}
	}
}

func docCRC(line string) uint16 {
	body, _, _ := strings.Cut(strings.TrimPrefix(line, "$"), "*")
	return CRC16([]byte(body))
}

// The numbers the document states.
func TestProtocolDocFigures(t *testing.T) {
	data, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	longest := AppendEvent(nil, Event{Seq: math.MaxUint32, Time: math.MaxUint64, Kind: EvEnd, Task: math.MinInt32, Arg: math.MinInt64})
	if len(longest) != maxEventLen {
		t.Errorf("longest EV frame is %d bytes, maxEventLen %d", len(longest), maxEventLen)
	}
	for _, want := range []string{
		"The longest EV frame is " + itoa(len(longest)) + " bytes",
		"`MaxFrame` = " + itoa(MaxFrame) + " bytes",
		"never more than " + itoa(MaxFields),
		"`123456789` is `0x29B1`",
		"`$AK,7*748B`",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("PROTOCOL.md does not say %q", want)
		}
	}
}

func itoa(n int) string { return string(putIntS(int64(n))) }

func putIntS(v int64) []byte {
	b := make([]byte, 24)
	return b[:putInt(b, 0, v)]
}
