package wire

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

var errTimeout = os.ErrDeadlineExceeded

// timeoutEveryOther returns os.ErrDeadlineExceeded on every other Read, with
// no data, like a serial port whose read deadline expires.
type timeoutEveryOther struct {
	r io.Reader
	n int
}

func (t *timeoutEveryOther) Read(p []byte) (int, error) {
	t.n++
	if t.n%2 == 1 {
		return 0, errTimeout
	}
	return t.r.Read(p)
}

// chunked returns the stream in fixed pieces; with dataErr, each piece comes
// with a timeout error attached (n > 0 and err != nil), and the last piece
// with io.EOF; with empty, a (0, nil) read comes between pieces.
type chunked struct {
	data    []byte
	size    int
	dataErr bool
	empty   bool
	toggle  bool
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.empty {
		c.toggle = !c.toggle
		if c.toggle {
			return 0, nil
		}
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	if c.dataErr {
		if len(c.data) == 0 {
			return n, io.EOF
		}
		return n, errTimeout
	}
	return n, nil
}

type result struct {
	lines []string
	stats Stats
	errs  int // timeouts seen
}

// drain reads frames until io.EOF, retrying timeouts.
func drain(t *testing.T, rd io.Reader) result {
	t.Helper()
	r := NewReader(rd)
	var res result
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("no end")
		}
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTimeout) {
			res.errs++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		res.lines = append(res.lines, string(f.Line))
	}
	res.stats = r.Stats()
	return res
}

func line(body string) string { return strings.TrimSuffix(mk(body), "\n") }

func TestReaderLineFaults(t *testing.T) {
	a, b, c := mk("EV,1,10,RL,0,1"), mk("EV,2,20,ST,0"), mk("AK,7")
	badCRC := strings.Replace(mk("EV,3,30,EN,0,5"), "EN", "EM", 1)
	long := "$" + strings.Repeat("x", 200) + "\n"
	cases := []struct {
		name  string
		in    string
		lines []string
		want  Stats
	}{
		{"clean", a + b + c, []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0"), line("AK,7")},
			Stats{Frames: 3}},
		{"garbage-between", "xx" + a + "\r\n\n junk " + b, []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0")},
			Stats{Frames: 2, GarbageBytes: 2 + 6}}, // empty lines are nothing; " junk " runs into a '$'
		{"console", "boot: ok\r\n" + a + "ASSERT x.c:12\n" + b, []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0")},
			Stats{Frames: 2, ConsoleLines: 2}},
		{"binary-line", "\x01\xffab\n" + a, []string{line("EV,1,10,RL,0,1")},
			Stats{Frames: 1, GarbageBytes: 5}},
		{"headless-frame", a[1:] + b, []string{line("EV,2,20,ST,0")},
			Stats{Frames: 1, GarbageBytes: uint64(len(a) - 1)}},
		{"cut-by-garbage", a[:10] + "noise\n" + b, []string{line("EV,2,20,ST,0")},
			Stats{Frames: 1, BadCRC: 1}},
		{"cut-by-dollar", a[:10] + b, []string{line("EV,2,20,ST,0")},
			Stats{Frames: 1, Truncated: 1}},
		{"dollar-in-garbage", "ab$cd" + a, []string{line("EV,1,10,RL,0,1")},
			Stats{Frames: 1, GarbageBytes: 2, Truncated: 1}},
		{"bad-crc", a + badCRC + b, []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0")},
			Stats{Frames: 2, BadCRC: 1}},
		{"malformed", mk("XX,1") + a, []string{line("EV,1,10,RL,0,1")},
			Stats{Frames: 1, Malformed: 1}},
		{"too-long", a + long + b, []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0")},
			Stats{Frames: 2, TooLong: 1}},
		{"too-long-then-dollar", strings.TrimSuffix(long, "\n") + b, []string{line("EV,2,20,ST,0")},
			Stats{Frames: 1, TooLong: 1}},
		{"crlf", strings.ReplaceAll(a+b, "\n", "\r\n"), []string{line("EV,1,10,RL,0,1"), line("EV,2,20,ST,0")},
			Stats{Frames: 2}},
		{"cr-cr-lf", strings.TrimSuffix(a, "\n") + "\r\r\n" + b, []string{line("EV,2,20,ST,0")},
			Stats{Frames: 1, BadCRC: 1}},
		{"trailing-partial", a + b[:7], []string{line("EV,1,10,RL,0,1")},
			Stats{Frames: 1, Truncated: 1}},
		{"trailing-garbage", a + "zz", []string{line("EV,1,10,RL,0,1")},
			Stats{Frames: 1, GarbageBytes: 2}},
		{"empty", "", nil, Stats{}},
	}
	wraps := []struct {
		name string
		wrap func([]byte) io.Reader
	}{
		{"plain", func(p []byte) io.Reader { return bytes.NewReader(p) }},
		{"one-byte", func(p []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(p)) }},
		{"timeouts", func(p []byte) io.Reader { return &timeoutEveryOther{r: iotest.OneByteReader(bytes.NewReader(p))} }},
		{"data-with-err", func(p []byte) io.Reader { return &chunked{data: p, size: 3, dataErr: true} }},
		{"empty-reads", func(p []byte) io.Reader { return &chunked{data: p, size: 5, empty: true} }},
		{"data-eof", func(p []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(p)) }},
	}
	for _, c := range cases {
		for _, w := range wraps {
			t.Run(c.name+"/"+w.name, func(t *testing.T) {
				res := drain(t, w.wrap([]byte(c.in)))
				if strings.Join(res.lines, "|") != strings.Join(c.lines, "|") {
					t.Errorf("frames %q, want %q", res.lines, c.lines)
				}
				want := c.want
				want.Bytes = uint64(len(c.in))
				if res.stats != want {
					t.Errorf("stats %+v, want %+v", res.stats, want)
				}
			})
		}
	}
}

// A timeout in the middle of a frame is returned, and the next call
// completes the frame from what was already read.
func TestReaderTimeoutMidFrame(t *testing.T) {
	frame := mk("EV,5,500,DM,2,9")
	pr, pw := io.Pipe()
	step := make(chan struct{})
	go func() {
		pw.Write([]byte(frame[:9]))
		<-step
		pw.Write([]byte(frame[9:]))
		pw.Close()
	}()
	tr := &stepReader{r: pr, step: step}
	r := NewReader(tr)
	if _, err := r.Next(); !errors.Is(err, errTimeout) {
		t.Fatalf("first Next: %v, want timeout", err)
	}
	f, err := r.Next()
	if err != nil || string(f.Line)+"\n" != frame {
		t.Fatalf("second Next: %v %q", err, f.Line)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("third Next: %v", err)
	}
	if st := r.Stats(); st.Frames != 1 || st.Truncated != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// stepReader returns a timeout after its first read, then releases the writer.
type stepReader struct {
	r     io.Reader
	step  chan struct{}
	reads int
}

func (s *stepReader) Read(p []byte) (int, error) {
	s.reads++
	if s.reads == 2 {
		close(s.step)
		return 0, errTimeout
	}
	return s.r.Read(p)
}

func TestReaderNoProgress(t *testing.T) {
	r := NewReader(iotest.ErrReader(nil)) // (0, nil) forever
	if _, err := r.Next(); err != io.ErrNoProgress {
		t.Fatalf("Next = %v, want io.ErrNoProgress", err)
	}
}

// Frames longer than the internal buffer never occur (MaxFrame), but a
// stream much longer than the buffer, with frames straddling refills, must
// lose nothing.
func TestReaderLongStream(t *testing.T) {
	stream := eventStream(5 * bufSize)
	want := bytes.Count(stream, []byte("\n"))
	for _, size := range []int{bufSize, 1000, 4093} {
		res := drain(t, &chunked{data: stream, size: size})
		if len(res.lines) != want || res.stats.Frames != uint64(want) || res.stats.Bytes != uint64(len(stream)) {
			t.Fatalf("chunk %d: %d frames, want %d; stats %+v", size, len(res.lines), want, res.stats)
		}
	}
}

// The too-long boundary of PROTOCOL.md section 1: MaxFrame counts the '$'
// and the line end, '\r' included.
func TestReaderMaxFrameBoundary(t *testing.T) {
	frameOf := func(total int, crlf bool) []byte {
		end := "\n"
		if crlf {
			end = "\r\n"
		}
		fixed := len("$CF,1,k,") + len("*XXXX") + len(end)
		body := "CF,1,k," + strings.Repeat("v", total-fixed)
		return []byte("$" + body + "*" + string(appendHex4(nil, CRC16([]byte(body)))) + end)
	}
	for _, c := range []struct {
		total   int
		crlf    bool
		tooLong bool
	}{{MaxFrame, false, false}, {MaxFrame, true, false}, {MaxFrame + 1, false, true}, {MaxFrame + 1, true, true}} {
		line := frameOf(c.total, c.crlf)
		if len(line) != c.total {
			t.Fatalf("built %d bytes, want %d", len(line), c.total)
		}
		r := NewReader(bytes.NewReader(line))
		f, err := r.Next()
		if c.tooLong {
			if !errors.Is(err, io.EOF) || r.Stats().TooLong != 1 {
				t.Errorf("%d bytes crlf=%v: err %v, stats %+v; want too long", c.total, c.crlf, err, r.Stats())
			}
			continue
		}
		if err != nil || f.Type != TypeConfig {
			t.Errorf("%d bytes crlf=%v: err %v; want a CF frame", c.total, c.crlf, err)
		}
	}
}

// With ReportConsole, whole console lines come back as TypeConsole frames
// between the frames, their text without the line end; binary junk, a
// partial last line and a frame that lost its '$' do not.
func TestReaderReportsConsole(t *testing.T) {
	a := mk("EV,1,10,RL,0,1")
	long := strings.Repeat("y", MaxConsole+10)
	in := "boot: ok\r\n" + a + "\x01junk\n" + a[1:] + long + "\n" + "tail"
	r := NewReader(iotest.OneByteReader(strings.NewReader(in)))
	r.ReportConsole(true)
	var got []string
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Type.String()+":"+string(f.Line))
	}
	want := []string{"console:boot: ok", "EV:" + strings.TrimSuffix(a, "\n"), "console:" + long[:MaxConsole]}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if st := r.Stats(); st.ConsoleLines != 2 || st.GarbageBytes != uint64(6+len(a)-1+10+4) {
		t.Fatalf("stats %+v", st)
	}
}
