package installer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// Gather reads every fact it can under root ("/" on a real machine). A part
// that cannot be read is left empty and its error joined into the returned
// one: a partial report is worth more than none.
func Gather(root string) (machineapi.Facts, error) {
	var f machineapi.Facts
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	f.Vendor, f.Product, f.Serial, f.UUID = readDMI(root)
	f.Firmware = firmware(root)
	var err error
	f.CPUs, f.CPUModel, err = cpuInfo(root)
	add(err)
	f.MemoryBytes, err = memoryBytes(root)
	add(err)
	f.Disks, err = disks(root)
	add(err)
	f.NICs, err = nics(root)
	add(err)
	return f, errors.Join(errs...)
}

// firmware says how the machine booted: the kernel creates /sys/firmware/efi
// only when UEFI handed it control.
func firmware(root string) string {
	if _, err := os.Stat(filepath.Join(root, "sys/firmware/efi")); err == nil {
		return "uefi"
	}
	return "bios"
}

// readTrim returns a sysfs attribute without its newline and padding, or ""
// when it is missing or unreadable (many attributes are optional).
func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
