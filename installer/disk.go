package installer

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// TargetDisk is the disk a deploy writes.
type TargetDisk struct {
	machineapi.Disk
	Path string // the device node, e.g. /dev/vda
}

// pickDisk chooses the deploy target among the disks in root's /sys/block:
// the hint's path or serial when given, else the first non-removable disk
// (by name) at least as large as the image and the hint's minimum. An
// image larger than the chosen disk is an error that says both sizes.
func pickDisk(root string, hint machineapi.DiskHint, size int64) (TargetDisk, error) {
	all, err := disks(root)
	if err != nil {
		return TargetDisk{}, err
	}
	dev := func(d machineapi.Disk) TargetDisk {
		return TargetDisk{Disk: d, Path: filepath.Join(root, "dev", d.Name)}
	}
	fits := func(t TargetDisk) error {
		if int64(t.SizeBytes) < size {
			return fmt.Errorf("image of %d bytes is larger than disk %s of %d bytes", size, t.Path, t.SizeBytes)
		}
		return nil
	}
	switch {
	case hint.Path != "":
		name := strings.TrimPrefix(filepath.Clean(hint.Path), "/dev/")
		for _, d := range all {
			if d.Name == name {
				t := dev(d)
				return t, fits(t)
			}
		}
		return TargetDisk{}, fmt.Errorf("no disk %s (have %s)", hint.Path, names(all))
	case hint.Serial != "":
		for _, d := range all {
			if d.Serial == hint.Serial {
				t := dev(d)
				return t, fits(t)
			}
		}
		return TargetDisk{}, fmt.Errorf("no disk with serial %q (have %s)", hint.Serial, names(all))
	}
	need := max(size, int64(min(hint.MinSize, math.MaxInt64)))
	var largest *machineapi.Disk
	for i, d := range all {
		if d.Removable || d.SizeBytes == 0 {
			continue
		}
		if int64(d.SizeBytes) >= need {
			return dev(d), nil
		}
		if largest == nil || d.SizeBytes > largest.SizeBytes {
			largest = &all[i]
		}
	}
	if largest != nil {
		return TargetDisk{}, fmt.Errorf("image of %d bytes is larger than every disk (largest %s, %d bytes)", need, largest.Name, largest.SizeBytes)
	}
	return TargetDisk{}, fmt.Errorf("no non-removable disk (have %s)", names(all))
}

func names(ds []machineapi.Disk) string {
	if len(ds) == 0 {
		return "none"
	}
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s %d bytes", d.Name, d.SizeBytes))
	}
	return strings.Join(s, ", ")
}
