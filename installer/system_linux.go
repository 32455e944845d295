package installer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// finitModule loads a kernel module from an open file; the kernel checks
// the signature and version magic itself.
func finitModule(f *os.File) error {
	return unix.FinitModule(int(f.Fd()), "", 0)
}

type pseudoFS struct {
	source, target, fstype string
	flags                  uintptr
}

// pseudoFilesystems are what the installer needs before anything else: the
// command line and cpuinfo (proc), devices and DMI (sysfs, devtmpfs), and
// scratch space (tmpfs).
func pseudoFilesystems() []pseudoFS {
	const safe = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	return []pseudoFS{
		{"proc", "/proc", "proc", safe},
		{"sysfs", "/sys", "sysfs", safe},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV},
	}
}

// MountPseudoFilesystems mounts them, tolerating ones already mounted (a
// restarted installer, or a kernel that mounted devtmpfs itself).
func MountPseudoFilesystems() error {
	var errs []error
	for _, m := range pseudoFilesystems() {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("mount %s: %w", m.target, err))
			continue
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s: %w", m.target, err))
		}
	}
	return errors.Join(errs...)
}

// MountEFIVars mounts efivarfs (loaded from the ramdisk's modules) where
// the kernel expects it, on a machine UEFI booted; nothing under BIOS.
func MountEFIVars(root string) error {
	dir := filepath.Join(root, efiVarsDir)
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		return nil // not UEFI
	}
	err := unix.Mount("efivarfs", dir, "efivarfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount efivarfs: %w", err)
	}
	return nil
}
