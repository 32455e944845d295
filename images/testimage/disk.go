package testimage

import (
	"errors"
	"fmt"
	"os"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

const (
	sectorSize = 512
	mib        = 1 << 20

	// ESPPartition and SeedPartition are the GPT partition numbers of the
	// EFI system partition and of the CIDATA seed partition.
	ESPPartition  = 1
	SeedPartition = 2
	// SeedLabel is the FAT volume label (and GPT partition name) of the
	// seed partition, as cloud-init's NoCloud source expects it.
	SeedLabel = "CIDATA"

	// legacyBIOSBootable is GPT attribute bit 2, which gptmbr.bin looks for.
	legacyBIOSBootable = 1 << 2

	// Fixed GUIDs keep the build reproducible.
	diskGUID   = "7262B001-0000-4000-8000-000000000000"
	espGUID    = "7262B001-0000-4000-8000-000000000001"
	cidataGUID = "7262B001-0000-4000-8000-000000000002"
)

// AssembleConfig says what goes into the disk.
type AssembleConfig struct {
	// ESPImage is a FAT filesystem image (a multiple of 1 MiB) with the
	// kernel, initramfs and bootloaders, syslinux already installed on it.
	ESPImage string
	// MBRCode is syslinux's gptmbr.bin; its first 440 bytes become the
	// protective MBR's boot code. Empty means no BIOS boot code.
	MBRCode string
	// SeedSize is the size of the CIDATA partition in bytes; 0 means 16 MiB.
	SeedSize int64
	// Out is the disk image to write; it is replaced.
	Out string
}

// Assemble writes the disk image: the GPT, the ESP copied from
// cfg.ESPImage, an empty FAT16 CIDATA partition and the MBR boot code.
func Assemble(cfg AssembleConfig) (err error) {
	if cfg.SeedSize == 0 {
		cfg.SeedSize = 16 * mib
	}
	if cfg.SeedSize%mib != 0 {
		return fmt.Errorf("assemble: seed partition size %d is not a multiple of 1 MiB", cfg.SeedSize)
	}
	esp, err := os.Open(cfg.ESPImage)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	defer esp.Close()
	fi, err := esp.Stat()
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	espSize := fi.Size()
	if espSize == 0 || espSize%mib != 0 {
		return fmt.Errorf("assemble: ESP image %s is %d bytes, want a non-zero multiple of 1 MiB", cfg.ESPImage, espSize)
	}
	var mbr []byte
	if cfg.MBRCode != "" {
		if mbr, err = os.ReadFile(cfg.MBRCode); err != nil {
			return fmt.Errorf("assemble: %w", err)
		}
		if len(mbr) < 440 {
			return fmt.Errorf("assemble: MBR code %s is %d bytes, want at least 440", cfg.MBRCode, len(mbr))
		}
		mbr = mbr[:440]
	}

	size := mib + espSize + cfg.SeedSize + mib
	if err := os.Remove(cfg.Out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("assemble: %w", err)
	}
	d, err := diskfs.Create(cfg.Out, size, diskfs.SectorSize512)
	if err != nil {
		return fmt.Errorf("assemble: create %s: %w", cfg.Out, err)
	}
	defer func() {
		if cerr := d.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("assemble: %w", cerr)
		}
		if err != nil {
			os.Remove(cfg.Out)
		}
	}()

	espStart := uint64(mib / sectorSize)
	espEnd := espStart + uint64(espSize/sectorSize) - 1
	seedStart := espEnd + 1
	seedEnd := seedStart + uint64(cfg.SeedSize/sectorSize) - 1
	table := &gpt.Table{
		LogicalSectorSize:  sectorSize,
		PhysicalSectorSize: sectorSize,
		ProtectiveMBR:      true,
		GUID:               diskGUID,
		Partitions: []*gpt.Partition{
			{Index: ESPPartition, Start: espStart, End: espEnd, Type: gpt.EFISystemPartition,
				Name: "EFI system partition", GUID: espGUID, Attributes: legacyBIOSBootable},
			{Index: SeedPartition, Start: seedStart, End: seedEnd, Type: gpt.MicrosoftBasicData,
				Name: SeedLabel, GUID: cidataGUID},
		},
	}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("assemble: partition: %w", err)
	}
	if n, err := d.WritePartitionContents(ESPPartition, esp); err != nil {
		return fmt.Errorf("assemble: write ESP: %w", err)
	} else if n != espSize {
		return fmt.Errorf("assemble: wrote %d bytes of the ESP, want %d", n, espSize)
	}
	if _, err := d.CreateFilesystem(disk.FilesystemSpec{
		Partition: SeedPartition, FSType: filesystem.TypeFat16,
		VolumeLabel: SeedLabel, Reproducible: true,
	}); err != nil {
		return fmt.Errorf("assemble: CIDATA filesystem: %w", err)
	}
	if mbr != nil {
		w, err := d.Backend.Writable()
		if err != nil {
			return fmt.Errorf("assemble: %w", err)
		}
		if _, err := w.WriteAt(mbr, 0); err != nil {
			return fmt.Errorf("assemble: write MBR code: %w", err)
		}
	}
	return nil
}
