package installer

import (
	"fmt"
	"os"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/rackboot/rackboot/machineapi"
)

// The seed partition of a rackboot image (images/testimage/README.md):
// partition 2, a FAT filesystem labelled CIDATA.
const (
	seedPartition = 2
	seedLabel     = "CIDATA"
)

// WriteSeed writes the seed's files, byte for byte as the appliance sent
// them, into the CIDATA partition of the disk (or disk image) at path,
// then syncs the disk. The partition is checked to be the seed partition
// (its filesystem labelled CIDATA) and then formatted afresh, FAT16
// labelled CIDATA: a seed never inherits files, or the stale file sizes
// that rewriting files in place can leave, from an earlier one.
func WriteSeed(path string, s machineapi.Seed) (err error) {
	d, err := diskfs.Open(path, diskfs.WithOpenMode(diskfs.ReadWrite))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() {
		if cerr := d.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err == nil {
			err = syncPath(path)
		}
	}()
	old, err := d.GetFilesystem(seedPartition)
	if err != nil {
		return fmt.Errorf("partition %d of %s: %w", seedPartition, path, err)
	}
	if got := strings.TrimSpace(old.Label()); !strings.EqualFold(got, seedLabel) {
		return fmt.Errorf("partition %d of %s is labelled %q, want %s", seedPartition, path, got, seedLabel)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: seedPartition, FSType: filesystem.TypeFat16, VolumeLabel: seedLabel})
	if err != nil {
		return fmt.Errorf("format partition %d of %s: %w", seedPartition, path, err)
	}
	for _, f := range seedFiles(s) {
		if err := writeSeedFile(fs, f.name, []byte(f.data)); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

type seedFile struct{ name, data string }

// seedFiles are the NoCloud files of s; network-config only when given.
func seedFiles(s machineapi.Seed) []seedFile {
	files := []seedFile{{"/meta-data", s.MetaData}, {"/user-data", s.UserData}}
	if s.NetworkConfig != "" {
		files = append(files, seedFile{"/network-config", s.NetworkConfig})
	}
	return files
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

func syncPath(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
