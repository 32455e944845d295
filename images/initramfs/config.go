package initramfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// DefaultModules are the drivers for the NICs and disks of QEMU VMs and of
// common servers: virtio (PCI, net, blk, scsi), Intel e1000/e1000e, AHCI
// SATA, NVMe, and SCSI disks; and efivarfs, through which the installer
// reads whether Secure Boot is on. Their dependencies are added.
func DefaultModules() []string {
	return []string{
		"virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi",
		"e1000", "e1000e", "ahci", "nvme", "sd_mod", "efivarfs",
	}
}

// Config says what goes into the ramdisk.
type Config struct {
	// ModulesDir is the kernel's lib/modules/<version> directory.
	ModulesDir string
	// KernelVersion names the directory in the ramdisk; "" means the base
	// name of ModulesDir, which is what the kernel's uname -r says.
	KernelVersion string
	// Binary is the static rackboot binary to install as /init.
	Binary string
	// Modules are the modules to include; nil means DefaultModules.
	Modules []string
	// Extra modules are added to Modules (an operator's RAID or NIC driver).
	Extra []string
	// Log receives what was included; nil discards it.
	Log *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.ModulesDir == "" {
		return c, errors.New("config: no kernel modules directory")
	}
	if c.Binary == "" {
		return c, errors.New("config: no binary for /init")
	}
	if c.KernelVersion == "" {
		c.KernelVersion = filepath.Base(filepath.Clean(c.ModulesDir))
	}
	if c.Modules == nil {
		c.Modules = DefaultModules()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if fi, err := os.Stat(c.ModulesDir); err != nil || !fi.IsDir() {
		return c, fmt.Errorf("config: modules directory %s: not a directory", c.ModulesDir)
	}
	return c, nil
}

func (c Config) wanted() []string {
	return append(append([]string(nil), c.Modules...), c.Extra...)
}
