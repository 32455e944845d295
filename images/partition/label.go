package partition

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// LabelWindow is how much of a partition's start the labels are read
// from: the FAT boot sector, and the ISO 9660 primary volume descriptor
// at 32 KiB.
const LabelWindow = 32768 + 2048

// seedLabels are the labels cloud-init's ds-identify takes for a local
// seed with no kernel argument: NoCloud's and ConfigDrive's, in exactly
// these spellings.
var seedLabels = []string{"CIDATA", "cidata", "config-2", "CONFIG-2"}

// SeedLabel is the label of the seed filesystems rackboot writes.
const SeedLabel = "CIDATA"

// IsSeedLabel reports whether cloud-init finds a filesystem with this label.
func IsSeedLabel(label string) bool {
	for _, l := range seedLabels {
		if label == l {
			return true
		}
	}
	return false
}

// FSLabel says which filesystem b, the first bytes of a partition (up to
// LabelWindow), holds and its label: "vfat" from a FAT boot sector,
// "iso9660" from a primary volume descriptor, or "" for anything else.
func FSLabel(b []byte) (fs, label string) {
	if len(b) >= LabelWindow && b[32768] == 1 && string(b[32769:32774]) == "CD001" {
		return "iso9660", strings.TrimRight(string(b[32808:32840]), " \x00")
	}
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa {
		return "", ""
	}
	fat := func(sig, at int) string {
		if b[sig] != 0x29 && b[sig] != 0x28 {
			return ""
		}
		l := strings.TrimRight(string(b[at:at+11]), " \x00")
		if l == "NO NAME" {
			return ""
		}
		return l
	}
	switch {
	case string(b[54:59]) == "FAT12" || string(b[54:59]) == "FAT16":
		return "vfat", fat(38, 43)
	case string(b[82:87]) == "FAT32":
		return "vfat", fat(66, 71)
	}
	return "", ""
}

// SeedPartition is the partition cloud-init would take as its seed: the
// first vfat or iso9660 one with a seed label; 0 when there is none.
func (l Layout) SeedPartition() int {
	for _, p := range l.Partitions {
		if (p.FS == "vfat" || p.FS == "iso9660") && IsSeedLabel(p.Label) {
			return p.Number
		}
	}
	return 0
}

// Seedable says whether a deploy of an image with this layout can be
// seeded: it has a seed partition to reuse, or its table has a free entry.
// A GPT always has room at the end of a disk larger than the image; that
// is checked against the disk by PlanSeed.
func (l Layout) Seedable() error {
	if l.SeedPartition() != 0 || l.FreeEntries > 0 {
		return nil
	}
	if l.Table == MBR {
		return fmt.Errorf("%w: the image's MBR has four primary partitions and none is a vfat or iso9660 filesystem labelled CIDATA or config-2 (cloud-init would not find a seed)", ErrNoRoom)
	}
	return fmt.Errorf("%w: the image's %s has no free entry and no partition labelled CIDATA or config-2", ErrNoRoom, l.Table)
}

// ReadLayout reads the table of the disk (or image file) r and the labels
// at its partitions' starts: what is on a disk after the image was written.
func ReadLayout(r io.ReaderAt) (Layout, error) {
	head := make([]byte, HeadSize)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Layout{}, fmt.Errorf("read partition table: %w", err)
	}
	l, err := Parse(head[:n])
	if err != nil {
		return Layout{}, err
	}
	buf := make([]byte, LabelWindow)
	for i, p := range l.Partitions {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), p.Size)], p.Start)
		if err != nil && !errors.Is(err, io.EOF) {
			return Layout{}, fmt.Errorf("read partition %d: %w", p.Number, err)
		}
		l.Partitions[i].FS, l.Partitions[i].Label = FSLabel(buf[:n])
	}
	return l, nil
}
