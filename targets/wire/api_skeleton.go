package wire

import "io"

// Stats counts what a Reader saw on the line.
type Stats struct {
	Frames       uint64 // valid frames returned
	BadCRC       uint64 // frames whose CRC did not match
	TooLong      uint64 // lines longer than MaxFrame
	Malformed    uint64 // frames with a good CRC but an unknown type or bad syntax
	GarbageBytes uint64 // bytes skipped outside any frame
}

// Frame is one validated frame. Field slices point into the Reader's buffer
// and are valid until the next call to Next.
type Frame struct {
	Type   Type
	NField int
	Fields [MaxFields][]byte
	Line   []byte // the frame from '$' up to (not including) the line end
}

// Reader splits a byte stream into frames without allocating per frame.
type Reader struct{ impl }

// NewReader returns a Reader that reads from r.
func NewReader(r io.Reader) *Reader { panic("todo") }

// Next returns the next valid frame, skipping (and counting) garbage,
// over-long lines and frames with a bad CRC. Errors from the underlying
// reader (timeouts included) are returned as they are; calling Next again
// continues where it stopped, losing nothing already read.
func (r *Reader) Next() (*Frame, error) { panic("todo") }

// Stats returns the counters so far.
func (r *Reader) Stats() Stats { panic("todo") }

// ParseFrame checks and splits one line (from '$', without line end) into f.
func ParseFrame(line []byte, f *Frame) error { panic("todo") }

func (f *Frame) Event() (Event, error)                      { panic("todo") } // EV and BX
func (f *Frame) Boot() (Boot, error)                        { panic("todo") }
func (f *Frame) Task() (TaskInfo, error)                    { panic("todo") }
func (f *Frame) Lock() (LockInfo, error)                    { panic("todo") }
func (f *Frame) Summary() (Summary, error)                  { panic("todo") }
func (f *Frame) Command() (Command, error)                  { panic("todo") }
func (f *Frame) Ack() (id uint32, err error)                { panic("todo") } // AK
func (f *Frame) Nak() (id uint32, reason string, err error) { panic("todo") } // NK
func (f *Frame) Done() (seq uint32, t uint64, err error)    { panic("todo") } // DN
func (f *Frame) TableEnd() (ntasks, nlocks int, err error)  { panic("todo") } // TE

func AppendEvent(dst []byte, ev Event) []byte               { panic("todo") }
func AppendBlackBox(dst []byte, ev Event) []byte            { panic("todo") } // Seq holds the replay index
func AppendBoot(dst []byte, b Boot) []byte                  { panic("todo") }
func AppendTask(dst []byte, t TaskInfo) []byte              { panic("todo") }
func AppendLock(dst []byte, l LockInfo) []byte              { panic("todo") }
func AppendTableEnd(dst []byte, ntasks, nlocks int) []byte  { panic("todo") }
func AppendSummary(dst []byte, s Summary) []byte            { panic("todo") }
func AppendAck(dst []byte, id uint32) []byte                { panic("todo") }
func AppendNak(dst []byte, id uint32, reason string) []byte { panic("todo") }
func AppendDone(dst []byte, seq uint32, t uint64) []byte    { panic("todo") }
func AppendCommand(dst []byte, c Command) []byte            { panic("todo") }

type impl struct{}
