// Package elfsym turns a firmware address into a function, file and line,
// with the standard library's debug/elf and debug/dwarf: what a crash
// frame's PC and LR mean in the ELF the board runs.
package elfsym

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"sort"
)

// Location is where an address lies in the source.
type Location struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
}

func (l Location) String() string {
	if l.File == "" {
		return l.Function
	}
	return fmt.Sprintf("%s (%s:%d)", l.Function, l.File, l.Line)
}

type fn struct {
	lo, hi uint64
	name   string
}

type row struct {
	addr uint64
	file string
	line int
	end  bool
}

// Table answers address lookups for one ELF.
type Table struct {
	funcs []fn
	rows  []row
}

// Open reads the symbol table and, when the ELF has it, the DWARF line
// table. Thumb addresses (bit 0 set) are handled.
func Open(path string) (*Table, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: symbols: %w", path, err)
	}
	t := &Table{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 {
			continue
		}
		lo := s.Value &^ 1
		t.funcs = append(t.funcs, fn{lo, lo + s.Size, s.Name})
	}
	sort.Slice(t.funcs, func(i, j int) bool { return t.funcs[i].lo < t.funcs[j].lo })
	if d, err := f.DWARF(); err == nil {
		t.lines(d)
	}
	sort.SliceStable(t.rows, func(i, j int) bool { return t.rows[i].addr < t.rows[j].addr })
	return t, nil
}

func (t *Table) lines(d *dwarf.Data) {
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		lr, err := d.LineReader(e)
		if err != nil || lr == nil {
			continue
		}
		var le dwarf.LineEntry
		for {
			if err := lr.Next(&le); err != nil {
				break // io.EOF, or a damaged table: keep what was read
			}
			file := ""
			if le.File != nil {
				file = le.File.Name
			}
			t.rows = append(t.rows, row{le.Address, file, le.Line, le.EndSequence})
		}
		r.SkipChildren()
	}
}

// Lookup returns where addr lies; ok is false outside every function.
func (t *Table) Lookup(addr uint64) (Location, bool) {
	addr &^= 1
	i := sort.Search(len(t.funcs), func(i int) bool { return t.funcs[i].lo > addr }) - 1
	if i < 0 || addr >= t.funcs[i].hi {
		return Location{}, false
	}
	loc := Location{Function: t.funcs[i].name}
	j := sort.Search(len(t.rows), func(j int) bool { return t.rows[j].addr > addr }) - 1
	if j >= 0 && !t.rows[j].end && t.rows[j].addr >= t.funcs[i].lo {
		loc.File, loc.Line = t.rows[j].file, t.rows[j].line
	}
	return loc, true
}
