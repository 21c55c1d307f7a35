package wire

import "math"

// parseEventLine is parseFrame for the frame that makes up nearly all of
// a trace, an EV line: in the same pass that splits the fields it decodes
// them, so Frame.Event has nothing left to do. It accepts only a plain EV
// frame (digits, an optional '-' on task and arg, a known kind, numbers
// short enough not to overflow) and returns false for anything else,
// leaving f to the general path, which then decides; for the lines it
// accepts, f is exactly what the general path makes of them, and f.ev what
// Frame.Event would decode.
//
// With check false the CRC is not verified: only for a Reader whose source
// is Intact, where every frame is exactly as an encoder wrote it, so the
// check could not fail (a line cut by a lost tail runs into the next '$',
// which no EV field accepts, so it still goes the general way).
func parseEventLine(line []byte, f *Frame, check bool) bool {
	n := len(line)
	if n < 12 || line[n-5] != '*' {
		return false
	}
	want, ok := parseHex4(line[n-4:])
	if !ok {
		return false
	}
	body := line[1 : n-5]
	if check && CRC16(body) != want {
		return false
	}
	ev := Event{Task: NoTask}
	i, nf := 3, 0
	for {
		start := i
		switch nf {
		case 2: // kind: two letters
			if i+2 > len(body) {
				return false
			}
			ev.Kind = KindOf(body[i : i+2])
			if ev.Kind == EvInvalid {
				return false
			}
			i += 2
		default:
			neg := false
			if nf >= 3 && i < len(body) && body[i] == '-' {
				neg = true
				i++
			}
			var v uint64
			d0 := i
			for i < len(body) {
				d := body[i] - '0'
				if d > 9 {
					break
				}
				v = v*10 + uint64(d)
				i++
			}
			// 18 digits never overflow an int64; longer numbers (or
			// leading zeros that make them long) go the general way.
			if i == d0 || i-d0 > 18 {
				return false
			}
			switch nf {
			case 0:
				if v > math.MaxUint32 {
					return false
				}
				ev.Seq = uint32(v)
			case 1:
				ev.Time = v
			case 3:
				t := int64(v)
				if neg {
					t = -t
				}
				if t < math.MinInt32 || t > math.MaxInt32 {
					return false
				}
				ev.Task = int32(t)
			case 4:
				ev.Arg = int64(v)
				if neg {
					ev.Arg = -ev.Arg
				}
			}
		}
		f.Fields[nf] = body[start:i:i]
		nf++
		if i == len(body) {
			break
		}
		if body[i] != ',' || nf == 5 {
			return false
		}
		i++
	}
	if nf < 3 {
		return false
	}
	for k := nf; k < MaxFields && f.Fields[k] != nil; k++ {
		f.Fields[k] = nil
	}
	f.Type = TypeEvent
	f.NField = nf
	f.Line = line[:n:n]
	f.ev, f.evOK, f.smOK = ev, true, false
	return true
}
