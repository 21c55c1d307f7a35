package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"go.bug.st/serial/enumerator"

	"github.com/hilchaos/hilchaos/targets"
)

// PortInfo is one serial port the system knows, with its USB descriptor
// when it is on USB.
type PortInfo struct {
	Name    string `json:"name"`
	USB     bool   `json:"usb"`
	VID     string `json:"vid,omitempty"`
	PID     string `json:"pid,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Product string `json:"product,omitempty"`
}

// Ports lists the system's serial ports, sorted by name. No ports is an
// empty list, not an error.
func Ports() ([]PortInfo, error) {
	ds, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	out := make([]PortInfo, 0, len(ds))
	for _, d := range ds {
		if d == nil || d.Name == "" {
			continue
		}
		out = append(out, PortInfo{Name: d.Name, USB: d.IsUSB, VID: strings.ToLower(d.VID), PID: strings.ToLower(d.PID),
			Serial: d.SerialNumber, Product: d.Product})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ErrAmbiguous is a USB identity that matches more than one port.
var ErrAmbiguous = errors.New("more than one port matches")

// FindUSB finds the port of the board with USB identity id.
func FindUSB(id USBID) (*enumerator.PortDetails, error) {
	ds, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, &Error{Port: "usb/" + id.String(), Op: "open", Err: err, kind: targets.ErrUnreachable}
	}
	var match []*enumerator.PortDetails
	for _, d := range ds {
		if d == nil || !d.IsUSB || !strings.EqualFold(d.VID, id.VID) || !strings.EqualFold(d.PID, id.PID) {
			continue
		}
		if id.Serial != "" && d.SerialNumber != id.Serial {
			continue
		}
		match = append(match, d)
	}
	switch len(match) {
	case 0:
		return nil, &Error{Port: "usb/" + id.String(), Op: "open", Err: errors.New("no USB serial port with that identity"),
			kind: errors.Join(targets.ErrUnreachable, fs.ErrNotExist)}
	case 1:
		return match[0], nil
	}
	var names []string
	for _, d := range match {
		names = append(names, fmt.Sprintf("%s (serial %q)", d.Name, d.SerialNumber))
	}
	return nil, &Error{Port: "usb/" + id.String(), Op: "open",
		Err: fmt.Errorf("%w: %s; add /SERIAL to the URL", ErrAmbiguous, strings.Join(names, ", "))}
}

// lookupDetails finds the USB descriptor of the port at path, following
// symlinks (/dev/serial/by-id/...).
func lookupDetails(path string) (*enumerator.PortDetails, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil || !strings.HasPrefix(real, "/dev/tty") {
		return nil, false // PTYs (/dev/pts/N) and the like have none
	}
	ds, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, false
	}
	for _, d := range ds {
		if d != nil && d.Name == real {
			return d, true
		}
	}
	return nil, false
}
