package farm

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// BuildID reads the GNU build id (the NT_GNU_BUILD_ID note that
// `ld --build-id` writes) of the ELF file at path, in hex, as a board
// built from it reports it in its BOOT banner.
func BuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("firmware image %s: %w", path, err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return "", fmt.Errorf("firmware image %s: section %s: %w", path, s.Name, err)
		}
		if id, ok := gnuBuildID(data, f.ByteOrder); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("firmware image %s: %w", path, errNoBuildID)
}

var errNoBuildID = errors.New("no GNU build id note (link with -Wl,--build-id)")

// gnuBuildID walks the notes in data for NT_GNU_BUILD_ID (type 3, owner
// "GNU").
func gnuBuildID(data []byte, bo binary.ByteOrder) (string, bool) {
	align4 := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz, descsz, typ := uint64(bo.Uint32(data)), uint64(bo.Uint32(data[4:])), bo.Uint32(data[8:])
		data = data[12:]
		n, d := align4(namesz), align4(descsz)
		// The last note's descriptor may lack its padding.
		if n+descsz > uint64(len(data)) {
			return "", false
		}
		name := data[:namesz]
		desc := data[n : n+descsz]
		data = data[min(n+d, uint64(len(data))):]
		if typ == 3 && string(name) == "GNU\x00" && len(desc) > 0 {
			return hex.EncodeToString(desc), true
		}
	}
	return "", false
}
