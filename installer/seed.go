package installer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/rackboot/rackboot/machineapi"
)

// The seed partition of a rackboot image (images/testimage/README.md):
// partition 2, a FAT filesystem labelled CIDATA.
const (
	seedPartition = 2
	seedLabel     = "CIDATA"
)

// WriteSeed writes the seed's meta-data and user-data, byte for byte as
// the appliance sent them, into the CIDATA partition of the disk at path,
// replacing files already there, then syncs the disk.
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
	fs, err := d.GetFilesystem(seedPartition)
	if err != nil {
		return fmt.Errorf("partition %d of %s: %w", seedPartition, path, err)
	}
	if got := strings.TrimSpace(fs.Label()); !strings.EqualFold(got, seedLabel) {
		return fmt.Errorf("partition %d of %s is labelled %q, want %s", seedPartition, path, got, seedLabel)
	}
	for _, f := range []struct{ name, data string }{{"/meta-data", s.MetaData}, {"/user-data", s.UserData}} {
		if err := seedFile(fs, f.name, []byte(f.data)); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func seedFile(fs filesystem.FileSystem, name string, data []byte) error {
	// Remove first: go-diskfs's FAT O_TRUNC does not always free the old
	// clusters of a longer file. A missing file is fine.
	if err := fs.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "does not exist") {
		if _, serr := fs.Stat(name); serr == nil {
			return err
		}
	}
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
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
