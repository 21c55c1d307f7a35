package wire

import "errors"

// Errors of ParseFrame. The Reader counts these instead of returning them.
var (
	ErrTooLong   = errors.New("wire: frame longer than MaxFrame")
	ErrBadCRC    = errors.New("wire: bad or missing CRC")
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrWrongType is returned by a Frame accessor called on a frame of
	// another type (Event on an AK frame, say).
	ErrWrongType = errors.New("wire: wrong frame type for this accessor")
)

// Frame is one validated frame. Field slices point into the Reader's buffer
// (or into the line given to ParseFrame) and are valid until the next call
// to Next.
type Frame struct {
	Type   Type
	NField int
	Fields [MaxFields][]byte
	Line   []byte // the frame from '$' up to (not including) the line end

	// ev is the decoded event of an EV frame parsed by parseEventLine or
	// taken from a FrameSource; sm the decoded summary of an SM frame
	// taken from one.
	ev   Event
	evOK bool
	sm   Summary
	smOK bool
}

// Arity is the number of fields a frame of type t must have: between min
// and max inclusive. It is 0, 0 for an invalid type.
func Arity(t Type) (min, max int) {
	if t >= numTypes {
		return 0, 0
	}
	a := arity[t]
	return int(a[0]), int(a[1])
}

var arity = [numTypes][2]uint8{
	TypeBoot: {6, 7}, TypeTask: {7, 7}, TypeLock: {4, 4}, TypeTableEnd: {2, 2},
	TypeEvent: {3, 5}, TypeSummary: {6, 6}, TypeAck: {1, 1}, TypeNak: {2, 2},
	TypeDone: {2, 2}, TypeBlackBox: {3, 5}, TypePing: {1, 1}, TypeConfig: {3, 3},
	// SF and FN carry a fault kind followed by its parameters; the number of
	// parameters depends on the kind and is checked by Frame.Command, so a
	// board can still answer NK to a kind it does not know.
	TypeSchedule: {4, MaxFields}, TypeFire: {3, MaxFields}, TypeStart: {2, 2},
	TypeStop: {1, 1}, TypeReset: {1, 1}, TypeDump: {1, 1}, TypeIdentify: {1, 1}, TypeCrash: {6, 6},
}

// code2 maps two uppercase letters to an index in a 26x26 table.
func code2(a, b byte) (int, bool) {
	a -= 'A'
	b -= 'A'
	if a >= 26 || b >= 26 {
		return 0, false
	}
	return int(a)*26 + int(b), true
}

var (
	typeByCode [26 * 26]Type
	kindByCode [26 * 26]EventKind
)

func init() {
	for t := TypeBoot; t < numTypes; t++ {
		i, _ := code2(typeNames[t][0], typeNames[t][1])
		typeByCode[i] = t
	}
	for k := EvRelease; k < numEventKinds; k++ {
		i, _ := code2(eventNames[k][0], eventNames[k][1])
		kindByCode[i] = k
	}
}

// TypeOf returns the Type for a two-letter code, or TypeInvalid.
func TypeOf(code []byte) Type {
	if len(code) != 2 {
		return TypeInvalid
	}
	i, ok := code2(code[0], code[1])
	if !ok {
		return TypeInvalid
	}
	return typeByCode[i]
}

// KindOf returns the EventKind for a two-letter code, or EvInvalid.
func KindOf(code []byte) EventKind {
	if len(code) != 2 {
		return EvInvalid
	}
	i, ok := code2(code[0], code[1])
	if !ok {
		return EvInvalid
	}
	return kindByCode[i]
}

// Byte classes of the frame body.
const (
	clBad   = 0
	clField = 1 // [A-Za-z0-9_.-]
	clComma = 2
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clField
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = clField
		t[c+'a'-'A'] = clField
	}
	t['_'], t['.'], t['-'] = clField, clField, clField
	t[','] = clComma
	return t
}()

// ParseFrame checks and splits one line (from '$', without line end) into f.
// A trailing "\n" or "\r\n" is tolerated and not part of f.Line. Fields of f
// point into line. The error is ErrTooLong, ErrBadCRC or ErrMalformed; f is
// only meaningful when the error is nil.
func ParseFrame(line []byte, f *Frame) error {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	// The line end takes at least one byte of MaxFrame.
	if len(line) >= MaxFrame {
		return ErrTooLong
	}
	return parseFrame(line, f)
}

// parseFrame is ParseFrame for a line already stripped and length-checked.
func parseFrame(line []byte, f *Frame) error { return parseFrameCheck(line, f, true) }

// parseFrameCheck is parseFrame; check false skips the CRC (a frame from
// an Intact source: see parseEventLine).
func parseFrameCheck(line []byte, f *Frame, check bool) error {
	n := len(line)
	if n == 0 || line[0] != '$' {
		return ErrMalformed
	}
	if n > 4 && line[1] == 'E' && line[2] == 'V' && line[3] == ',' && parseEventLine(line, f, check) {
		return nil
	}
	return parseGeneralCheck(line, f, check)
}

// parseGeneral is parseFrame for any frame type.
func parseGeneral(line []byte, f *Frame) error { return parseGeneralCheck(line, f, true) }

// parseGeneralCheck is parseGeneral; check false skips the CRC, not the
// check that there is one.
func parseGeneralCheck(line []byte, f *Frame, check bool) error {
	n := len(line)
	f.evOK, f.smOK = false, false
	if n < 6 || line[n-5] != '*' {
		return ErrBadCRC
	}
	want, ok := parseHex4(line[n-4:])
	if !ok {
		return ErrBadCRC
	}
	body := line[1 : n-5]
	if check && CRC16(body) != want {
		return ErrBadCRC
	}
	if len(body) < 2 {
		return ErrMalformed
	}
	t := TypeOf(body[:2])
	if t == TypeInvalid {
		return ErrMalformed
	}
	nf := 0
	if len(body) > 2 {
		if body[2] != ',' {
			return ErrMalformed
		}
		start := 3
		for i := 3; i < len(body); i++ {
			switch class[body[i]] {
			case clField:
			case clComma:
				if i == start || nf == MaxFields {
					return ErrMalformed
				}
				f.Fields[nf] = body[start:i:i]
				nf++
				start = i + 1
			default:
				return ErrMalformed
			}
		}
		if start == len(body) || nf == MaxFields {
			return ErrMalformed
		}
		f.Fields[nf] = body[start:len(body):len(body)]
		nf++
	}
	if a := arity[t]; nf < int(a[0]) || nf > int(a[1]) {
		return ErrMalformed
	}
	for i := nf; i < MaxFields && f.Fields[i] != nil; i++ {
		f.Fields[i] = nil
	}
	f.Type = t
	f.NField = nf
	f.Line = line[:n:n]
	return nil
}
