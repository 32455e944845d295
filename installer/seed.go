package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/rackboot/rackboot/images/partition"
	"github.com/rackboot/rackboot/machineapi"
)

// fat16Min is the smallest partition formatted FAT16 (4,085 clusters of
// 1 KiB and the FATs); a smaller reused seed partition gets FAT12.
const fat16Min = 5 << 20

// CheckSeedRoom says, before anything is written, whether the seed of an
// image whose first bytes are head (partition.HeadSize, or all of a
// shorter image) can be placed on a disk of diskSize bytes. seedPartition
// is the image's own seed partition as the appliance recorded it at
// import (0: none), since its label lies past head.
func CheckSeedRoom(head []byte, imageSize, diskSize int64, seedPartition int) (partition.Plan, error) {
	l, err := partition.Parse(head)
	if err != nil {
		return partition.Plan{}, err
	}
	for i, p := range l.Partitions {
		if p.Number == seedPartition {
			l.Partitions[i].FS, l.Partitions[i].Label = "vfat", partition.SeedLabel
		}
	}
	return partition.PlanSeed(l, imageSize, diskSize)
}

// WriteSeed writes the seed onto the disk (or disk image) at path, which
// holds an image of imageSize bytes, written and verified: it reads the
// disk's partition table, reuses the image's partition labelled CIDATA or
// config-2 or adds one at the end of the disk (partition.PlanSeed,
// partition.AddSeed), formats it afresh as FAT labelled CIDATA (a seed
// never inherits files or stale sizes from an earlier one), writes the
// seed's files byte for byte, syncs, and reads them back. It returns where
// the seed went.
func WriteSeed(path string, imageSize int64, s machineapi.Seed) (plan partition.Plan, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return plan, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	diskSize, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return plan, fmt.Errorf("size of %s: %w", path, err)
	}
	layout, err := partition.ReadLayout(f)
	if err != nil {
		return plan, err
	}
	if plan, err = partition.PlanSeed(layout, imageSize, diskSize); err != nil {
		return plan, err
	}
	if err := partition.AddSeed(f, diskSize, plan); err != nil {
		return plan, err
	}
	if err := formatSeed(f, plan, s); err != nil {
		return plan, fmt.Errorf("seed partition %d: %w", plan.Number, err)
	}
	if err := f.Sync(); err != nil {
		return plan, err
	}
	dropCache(f)
	if err := readBackSeed(f, plan, s); err != nil {
		return plan, fmt.Errorf("seed partition %d read back: %w", plan.Number, err)
	}
	return plan, nil
}

type seedFile struct{ name, data string }

// seedFiles are the seed's files; the optional ones only when given.
func seedFiles(s machineapi.Seed) []seedFile {
	files := []seedFile{{"meta-data", s.MetaData}, {"user-data", s.UserData}}
	if s.NetworkConfig != "" {
		files = append(files, seedFile{"network-config", s.NetworkConfig})
	}
	if s.Rackboot != "" {
		files = append(files, seedFile{machineapi.SeedRackbootFile, s.Rackboot})
	}
	return files
}

// formatSeed makes a fresh FAT filesystem labelled CIDATA on the planned
// partition and writes the files into its root.
func formatSeed(f *os.File, p partition.Plan, s machineapi.Seed) error {
	b := file.New(f, false)
	var fs filesystem.FileSystem
	var err error
	if p.Size >= fat16Min {
		fs, err = fat16.Create(b, p.Size, p.Start, 512, partition.SeedLabel, false)
	} else {
		fs, err = fat12.Create(b, p.Size, p.Start, 512, partition.SeedLabel, false)
	}
	if err != nil {
		return fmt.Errorf("format: %w", err)
	}
	for _, sf := range seedFiles(s) {
		if err := writeSeedFile(fs, "/"+sf.name, []byte(sf.data)); err != nil {
			return fmt.Errorf("%s: %w", sf.name, err)
		}
	}
	return nil
}

func writeSeedFile(fs filesystem.FileSystem, name string, data []byte) error {
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readBackSeed reads every file back from the disk and compares it. The
// FAT reader may return a file rounded up to its last cluster, so the
// length compared is the directory entry's.
func readBackSeed(f *os.File, p partition.Plan, s machineapi.Seed) error {
	b := file.New(f, true)
	var fs filesystem.FileSystem
	var err error
	if p.Size >= fat16Min {
		fs, err = fat16.Read(b, p.Size, p.Start, 512)
	} else {
		fs, err = fat12.Read(b, p.Size, p.Start, 512)
	}
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(fs.Label()); got != partition.SeedLabel {
		return fmt.Errorf("label %q, want %s", got, partition.SeedLabel)
	}
	entries, err := fs.ReadDir(".")
	if err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			sizes[e.Name()] = fi.Size()
		}
	}
	for _, sf := range seedFiles(s) {
		size, ok := sizes[sf.name]
		if !ok {
			return fmt.Errorf("%s: missing", sf.name)
		}
		r, err := fs.OpenFile("/"+sf.name, os.O_RDONLY)
		if err != nil {
			return fmt.Errorf("%s: %w", sf.name, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w", sf.name, err)
		}
		if size != int64(len(sf.data)) || int64(len(got)) < size || !bytes.Equal(got[:size], []byte(sf.data)) {
			return fmt.Errorf("%s: read back %d bytes that differ from the %d written", sf.name, size, len(sf.data))
		}
	}
	return nil
}
