package installer

import (
	"errors"
	"fmt"
	"io/fs"
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
	var err error
	f.Firmware = firmware(root)
	f.SecureBoot, err = secureBoot(root)
	add(err)
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

// efiVarsDir is where efivarfs is mounted; secureBootVar is the global
// variable the firmware sets to 1 while Secure Boot is enforcing (UEFI
// spec, "Globally Defined Variables").
const (
	efiVarsDir    = "sys/firmware/efi/efivars"
	secureBootVar = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
)

// secureBoot reads the SecureBoot variable: efivarfs gives 4 bytes of
// attributes, then the 1-byte value. Under BIOS there is no variable and
// no error; under UEFI without it (firmware too old for Secure Boot) it is
// off.
func secureBoot(root string) (bool, error) {
	if firmware(root) != "uefi" {
		return false, nil
	}
	b, err := os.ReadFile(filepath.Join(root, efiVarsDir, secureBootVar))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("secure boot: %w", err)
	}
	if len(b) != 5 {
		return false, fmt.Errorf("secure boot: variable of %d bytes, want 4 of attributes and 1 of value", len(b))
	}
	return b[4] == 1, nil
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
