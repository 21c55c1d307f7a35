package wire

// The Append functions append one complete frame, '$' to '\n', to dst and
// return the extended slice. They do not allocate when dst has room
// (MaxFrame bytes is always enough for a frame a receiver accepts).
//
// Names (firmware name, task name, CF key and value, NK reason, ...) are
// written with every byte outside [A-Za-z0-9_.-] replaced by '_', and an
// empty name as "_", so the frame stays parseable. The encoders do not
// enforce MaxFrame: keep names short (a receiver drops a longer frame as
// TooLong). An Event with an invalid Kind is written with kind "??", which
// receivers count as malformed.

// begin appends '$' and the type code and returns the offset of the CRC'd part.
func begin(dst []byte, t Type) ([]byte, int) {
	start := len(dst) + 1
	code := typeNames[t]
	return append(dst, '$', code[0], code[1]), start
}

// finish appends '*', the CRC of dst[start:] and '\n'.
func finish(dst []byte, start int) []byte {
	dst = appendHex4(append(dst, '*'), CRC16(dst[start:]))
	return append(dst, '\n')
}

func appendU(dst []byte, v uint64) []byte {
	n := len(dst)
	dst = append(dst, ",01234567890123456789"...) // room: ',' and 20 digits
	dst[n] = ','
	return dst[:putUint(dst, n+1, v)]
}

func appendI(dst []byte, v int64) []byte {
	n := len(dst)
	dst = append(dst, ",-01234567890123456789"...)
	dst[n] = ','
	return dst[:putInt(dst, n+1, v)]
}

func appendName(dst []byte, s string) []byte {
	dst = append(dst, ',')
	if s == "" {
		return append(dst, '_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if class[c] != clField {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// maxEventLen is the longest EV/BX frame: $EV + ,seq(10) + ,time(20) +
// ,kind(2) + ,task(11) + ,arg(20) + *CRC + \n.
const maxEventLen = 3 + 11 + 21 + 3 + 12 + 21 + 5 + 1

func appendEvent(dst []byte, t Type, ev Event) []byte {
	n := len(dst)
	if cap(dst)-n < maxEventLen {
		dst = append(dst, make([]byte, maxEventLen)...)[:n]
	}
	b := dst[n : n+maxEventLen]
	code := typeNames[t]
	b[0], b[1], b[2], b[3] = '$', code[0], code[1], ','
	i := putUint(b, 4, uint64(ev.Seq))
	b[i] = ','
	i = putUint(b, i+1, ev.Time)
	kind := [2]byte{'?', '?'}
	if ev.Kind != EvInvalid && ev.Kind < numEventKinds {
		kind = eventNames[ev.Kind]
	}
	b[i], b[i+1], b[i+2] = ',', kind[0], kind[1]
	i += 3
	if ev.Arg != 0 || ev.Task != NoTask {
		b[i] = ','
		i = putInt(b, i+1, int64(ev.Task))
		if ev.Arg != 0 {
			b[i] = ','
			i = putInt(b, i+1, ev.Arg)
		}
	}
	crc := CRC16(b[1:i])
	b[i] = '*'
	b[i+1], b[i+2], b[i+3], b[i+4] = hexDigits[crc>>12], hexDigits[crc>>8&0xF], hexDigits[crc>>4&0xF], hexDigits[crc&0xF]
	b[i+5] = '\n'
	return dst[:n+i+6]
}

// AppendEvent appends an EV frame. Task is omitted when it is NoTask and
// Arg is 0; Arg is omitted when it is 0.
func AppendEvent(dst []byte, ev Event) []byte { return appendEvent(dst, TypeEvent, ev) }

// AppendBlackBox appends a BX frame (the fields of EV; Seq holds the replay index).
func AppendBlackBox(dst []byte, ev Event) []byte { return appendEvent(dst, TypeBlackBox, ev) }

// AppendBoot appends a BT frame.
func AppendBoot(dst []byte, b Boot) []byte {
	dst, start := begin(dst, TypeBoot)
	dst = appendName(dst, b.Name)
	dst = appendName(dst, b.Version)
	dst = appendName(dst, b.Build)
	dst = appendName(dst, b.Reason)
	dst = appendU(dst, uint64(b.BootCount))
	dst = appendU(dst, b.Uptime)
	if b.Proto >= ProtoV2 {
		dst = appendU(dst, uint64(b.Proto))
	}
	return finish(dst, start)
}

// AppendTask appends a TK frame.
func AppendTask(dst []byte, t TaskInfo) []byte {
	dst, start := begin(dst, TypeTask)
	dst = appendI(dst, int64(t.Index))
	dst = appendName(dst, t.Name)
	dst = appendI(dst, int64(t.Priority))
	dst = appendI(dst, t.Period)
	dst = appendI(dst, t.Deadline)
	dst = appendI(dst, t.Offset)
	dst = appendI(dst, t.WCET)
	return finish(dst, start)
}

// AppendLock appends an LK frame.
func AppendLock(dst []byte, l LockInfo) []byte {
	dst, start := begin(dst, TypeLock)
	dst = appendI(dst, int64(l.Index))
	dst = appendName(dst, l.Name)
	dst = appendName(dst, l.Protocol)
	dst = appendI(dst, int64(l.Ceiling))
	return finish(dst, start)
}

// AppendTableEnd appends a TE frame.
func AppendTableEnd(dst []byte, ntasks, nlocks int) []byte {
	dst, start := begin(dst, TypeTableEnd)
	dst = appendI(dst, int64(ntasks))
	dst = appendI(dst, int64(nlocks))
	return finish(dst, start)
}

// AppendSummary appends an SM frame.
func AppendSummary(dst []byte, s Summary) []byte {
	dst, start := begin(dst, TypeSummary)
	dst = appendU(dst, uint64(s.Seq))
	dst = appendU(dst, s.Time)
	dst = appendI(dst, int64(s.Task))
	dst = appendU(dst, uint64(s.Jobs))
	dst = appendI(dst, s.MaxResp)
	dst = appendU(dst, uint64(s.Misses))
	return finish(dst, start)
}

// AppendAck appends an AK frame.
func AppendAck(dst []byte, id uint32) []byte {
	dst, start := begin(dst, TypeAck)
	dst = appendU(dst, uint64(id))
	return finish(dst, start)
}

// AppendNak appends an NK frame.
func AppendNak(dst []byte, id uint32, reason string) []byte {
	dst, start := begin(dst, TypeNak)
	dst = appendU(dst, uint64(id))
	dst = appendName(dst, reason)
	return finish(dst, start)
}

// AppendDone appends a DN frame.
func AppendDone(dst []byte, seq uint32, t uint64) []byte {
	dst, start := begin(dst, TypeDone)
	dst = appendU(dst, uint64(seq))
	dst = appendU(dst, t)
	return finish(dst, start)
}

// AppendCrash appends a CR frame.
func AppendCrash(dst []byte, c Crash) []byte {
	dst, start := begin(dst, TypeCrash)
	dst = appendU(dst, c.Time)
	dst = appendI(dst, int64(c.Task))
	dst = appendU(dst, uint64(c.PC))
	dst = appendU(dst, uint64(c.LR))
	dst = appendU(dst, uint64(c.XPSR))
	dst = appendU(dst, uint64(c.CFSR))
	return finish(dst, start)
}

// AppendCommand appends a host-to-board frame of type c.Type with the fields
// that type uses (see Command). A c.Type that is not a command type is
// written as a PG frame.
func AppendCommand(dst []byte, c Command) []byte {
	t := c.Type
	if !IsCommand(t) {
		t = TypePing
	}
	dst, start := begin(dst, t)
	dst = appendU(dst, uint64(c.ID))
	switch t {
	case TypeConfig:
		dst = appendName(dst, c.Key)
		dst = appendName(dst, c.Value)
	case TypeStart:
		dst = appendU(dst, c.Duration)
	case TypeSchedule:
		dst = appendU(dst, c.At)
		dst = appendFault(dst, c.Fault)
	case TypeFire:
		dst = appendFault(dst, c.Fault)
	}
	return finish(dst, start)
}

// appendFault writes faultid,kind,params. An unknown kind is written with
// no parameters (the board answers NK).
func appendFault(dst []byte, f FaultCmd) []byte {
	dst = appendU(dst, uint64(f.ID))
	dst = appendName(dst, f.Kind)
	switch f.Kind {
	case FaultLoadBurst:
		dst = appendI(dst, int64(f.Priority))
		dst = appendU(dst, f.Length)
	case FaultLockHold:
		dst = appendI(dst, int64(f.Task))
		dst = appendI(dst, int64(f.Lock))
		dst = appendU(dst, f.Extra)
	case FaultIRQStorm:
		dst = appendI(dst, int64(f.Priority))
		dst = appendU(dst, f.Period)
		dst = appendU(dst, f.Length)
	}
	return dst
}
