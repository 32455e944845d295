package installer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// skippedDisks are block devices that are never an install target: loop
// and RAM disks, optical drives, compressed swap, floppies.
var skippedDisks = []string{"loop", "ram", "sr", "zram", "fd"}

// disks lists the block devices in /sys/block, sorted by name.
func disks(root string) ([]machineapi.Disk, error) {
	dir := filepath.Join(root, "sys/block")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("disks: %w", err)
	}
	var out []machineapi.Disk
	for _, e := range entries {
		if skipDisk(e.Name()) {
			continue
		}
		d, err := readDisk(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("disks: %w", err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func skipDisk(name string) bool {
	for _, p := range skippedDisks {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// readDisk reads one /sys/block/<name> directory. The size attribute counts
// 512-byte sectors whatever the device's own sector size.
func readDisk(dir string) (machineapi.Disk, error) {
	name := filepath.Base(dir)
	sectors, err := strconv.ParseUint(readTrim(filepath.Join(dir, "size")), 10, 64)
	if err != nil {
		return machineapi.Disk{}, fmt.Errorf("%s: size: %w", name, err)
	}
	return machineapi.Disk{
		Name:      name,
		SizeBytes: sectors * 512,
		Model:     readTrim(filepath.Join(dir, "device/model")),
		Serial:    diskSerial(dir),
		Removable: readTrim(filepath.Join(dir, "removable")) == "1",
	}, nil
}

// diskSerial looks where each driver family puts it: NVMe in device/serial,
// virtio-blk in the disk's own serial attribute, SCSI and SATA in the
// unit serial number VPD page (0x80).
func diskSerial(dir string) string {
	if s := readTrim(filepath.Join(dir, "device/serial")); s != "" {
		return s
	}
	if s := readTrim(filepath.Join(dir, "serial")); s != "" {
		return s
	}
	return vpdSerial(filepath.Join(dir, "device/vpd_pg80"))
}

// vpdSerial decodes a unit serial number page: a 4-byte header whose last
// byte is the length of the ASCII serial that follows.
func vpdSerial(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(b[3])
	if 4+n > len(b) {
		n = len(b) - 4
	}
	return strings.TrimSpace(string(b[4 : 4+n]))
}
