package installer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Facts are what the installer found on the machine. The JSON names are the
// appliance's inventory.Facts names; the appliance stamps the inspection
// time itself, so a machine with a wrong clock cannot set it.
type Facts struct {
	Vendor      string `json:"vendor,omitempty"`
	Product     string `json:"product,omitempty"`
	Serial      string `json:"serial,omitempty"`
	UUID        string `json:"uuid,omitempty"`
	Firmware    string `json:"firmware,omitempty"` // "bios" or "uefi"
	CPUs        int    `json:"cpus,omitempty"`
	CPUModel    string `json:"cpu_model,omitempty"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	Disks       []Disk `json:"disks,omitempty"`
	NICs        []NIC  `json:"nics,omitempty"`
}

// Disk is one block device.
type Disk struct {
	Name      string `json:"name"`
	SizeBytes uint64 `json:"size_bytes"`
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	Removable bool   `json:"removable,omitempty"`
}

// NIC is one physical network interface.
type NIC struct {
	Name   string `json:"name"`
	MAC    string `json:"mac"`
	Driver string `json:"driver,omitempty"`
	Up     bool   `json:"up,omitempty"`
}

// Gather reads every fact it can under root ("/" on a real machine). A part
// that cannot be read is left empty and its error joined into the returned
// one: a partial report is worth more than none.
func Gather(root string) (Facts, error) {
	var f Facts
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
