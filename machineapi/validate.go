package machineapi

import (
	"fmt"
	"net"
	"unicode"
	"unicode/utf8"
)

// Bounds of what a machine may report: a real machine's facts fit well
// inside them, and a report that does not is refused whole.
const (
	MaxText  = 256 // bytes of one text field (vendor, model, …)
	MaxID    = 128 // bytes of a serial or UUID
	MaxDisks = 256
	MaxNICs  = 256
	MaxCPUs  = 1 << 16
)

// Validate checks every field of f against the bounds above and refuses
// text that is not printable UTF-8 (control characters would reach an
// operator's terminal). The error names the first field that is wrong.
func (f *Facts) Validate() error {
	for _, t := range []struct {
		name, v string
		max     int
	}{{"vendor", f.Vendor, MaxText}, {"product", f.Product, MaxText}, {"serial", f.Serial, MaxID},
		{"uuid", f.UUID, MaxID}, {"cpu_model", f.CPUModel, MaxText}} {
		if err := CheckText(t.v, t.max); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if f.Firmware != "" && f.Firmware != "bios" && f.Firmware != "uefi" {
		return fmt.Errorf("firmware: %q is not bios or uefi", f.Firmware)
	}
	if f.CPUs < 0 || f.CPUs > MaxCPUs {
		return fmt.Errorf("cpus: %d is not 0 to %d", f.CPUs, MaxCPUs)
	}
	if len(f.Disks) > MaxDisks || len(f.NICs) > MaxNICs {
		return fmt.Errorf("%d disks and %d NICs: at most %d and %d", len(f.Disks), len(f.NICs), MaxDisks, MaxNICs)
	}
	for i, d := range f.Disks {
		for _, t := range []struct{ name, v string }{{"name", d.Name}, {"model", d.Model}, {"serial", d.Serial}} {
			if err := CheckText(t.v, MaxText); err != nil {
				return fmt.Errorf("disks[%d].%s: %w", i, t.name, err)
			}
		}
	}
	for i, n := range f.NICs {
		for _, t := range []struct{ name, v string }{{"name", n.Name}, {"driver", n.Driver}} {
			if err := CheckText(t.v, MaxText); err != nil {
				return fmt.Errorf("nics[%d].%s: %w", i, t.name, err)
			}
		}
		if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 {
			return fmt.Errorf("nics[%d].mac: %q is not a 48-bit MAC address", i, Printable(n.MAC))
		}
	}
	return nil
}

// CheckText refuses text longer than max bytes, not UTF-8, or holding a
// control character.
func CheckText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, more than %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not UTF-8", Printable(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%q holds a control character", Printable(s))
		}
	}
	return nil
}

// Printable is s with control characters and invalid bytes escaped (Go
// quoting, without the quotes), so text from a machine can go to a
// terminal or a log as it is: it cannot move the cursor, clear the screen
// or write to the clipboard.
func Printable(s string) string {
	ok := utf8.ValidString(s)
	for _, r := range s {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
