package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// bootLayout is where one family of installer ISOs keeps its kernel, and
// the names its initrd goes by next to it.
type bootLayout struct {
	kernel  string
	initrds []string
}

// bootLayouts are tried in order; the first whose kernel and an initrd
// both exist wins. Names are matched without regard to case, since plain
// ISO 9660 names are upper case.
var bootLayouts = []bootLayout{
	{"casper/vmlinuz", []string{"casper/initrd", "casper/initrd.lz", "casper/initrd.gz", "casper/initrd.img"}}, // Ubuntu
	{"install.amd/vmlinuz", []string{"install.amd/initrd.gz"}},                                                 // Debian installer
	{"install/vmlinuz", []string{"install/initrd.gz"}},
	{"live/vmlinuz", []string{"live/initrd.img", "live/initrd"}},                         // Debian live
	{"images/pxeboot/vmlinuz", []string{"images/pxeboot/initrd.img"}},                    // Fedora, RHEL
	{"isolinux/vmlinuz", []string{"isolinux/initrd.img", "isolinux/initrd.gz"}},          // CentOS, older
	{"arch/boot/x86_64/vmlinuz-linux", []string{"arch/boot/x86_64/initramfs-linux.img"}}, // Arch
}

// extractBoot finds the kernel and initrd in the ISO at isoPath and stages
// each as a blob of its own, so the boot side serves them without reading
// the ISO.
func (st *staged) extractBoot(isoPath string, opts ImportOptions, tmpDir string) (err error) {
	// go-diskfs parses untrusted bytes; a panic in it is a bad ISO, not a
	// reason to take the appliance down.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: reading the ISO 9660 filesystem: %v", ErrCorrupt, p)
		}
	}()
	f, err := os.Open(isoPath)
	if err != nil {
		return err
	}
	defer f.Close()
	iso, err := iso9660.Read(file.New(f, true), st.img.Size, 0, 2048)
	if err != nil {
		return fmt.Errorf("%w: reading the ISO 9660 filesystem: %v", ErrCorrupt, err)
	}
	kernel, initrd, err := findBootFiles(iso, opts.KernelPath, opts.InitrdPath)
	if err != nil {
		return err
	}
	if st.img.Kernel, err = st.stageFile(iso, kernel, tmpDir); err != nil {
		return err
	}
	st.img.Initrd, err = st.stageFile(iso, initrd, tmpDir)
	return err
}

// findBootFiles resolves the paths the caller named, or else the first
// known layout present, to paths as the ISO spells them.
func findBootFiles(iso fs.ReadDirFS, kernelPath, initrdPath string) (kernel, initrd string, err error) {
	if kernelPath != "" || initrdPath != "" {
		if kernelPath == "" || initrdPath == "" {
			return "", "", fmt.Errorf("%w: name both the kernel and the initrd path inside the ISO, or neither", ErrInvalid)
		}
		for _, p := range []*string{&kernelPath, &initrdPath} {
			found, ok := lookup(iso, *p)
			if !ok {
				return "", "", fmt.Errorf("%w: %s not found in the ISO", ErrInvalid, *p)
			}
			*p = found
		}
		return kernelPath, initrdPath, nil
	}
	for _, l := range append(bootLayouts, bootDirLayouts(iso)...) {
		k, ok := lookup(iso, l.kernel)
		if !ok {
			continue
		}
		for _, i := range l.initrds {
			if found, ok := lookup(iso, i); ok {
				return k, found, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: no kernel and initrd at the usual places in the ISO (casper/, install.amd/, live/, images/pxeboot/, isolinux/, boot/): name them with the kernel and initrd paths", ErrInvalid)
}

// bootDirLayouts pairs each boot/vmlinuz* with the boot/initrd* and
// boot/initramfs* files beside it (Alpine: vmlinuz-lts, initramfs-lts).
func bootDirLayouts(iso fs.ReadDirFS) []bootLayout {
	dir, ok := lookup(iso, "boot")
	if !ok {
		return nil
	}
	entries, err := iso.ReadDir(dir)
	if err != nil {
		return nil
	}
	var kernels, initrds []string
	for _, e := range entries {
		n := strings.ToLower(e.Name())
		switch {
		case e.IsDir():
		case strings.HasPrefix(n, "vmlinuz"):
			kernels = append(kernels, path.Join(dir, e.Name()))
		case strings.HasPrefix(n, "initrd"), strings.HasPrefix(n, "initramfs"):
			initrds = append(initrds, path.Join(dir, e.Name()))
		}
	}
	var out []bootLayout
	for _, k := range kernels {
		out = append(out, bootLayout{kernel: k, initrds: initrds})
	}
	return out
}

// lookup finds p in the ISO, one component at a time, ignoring case; it
// returns the path as the ISO spells it.
func lookup(iso fs.ReadDirFS, p string) (string, bool) {
	dir := "."
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		entries, err := iso.ReadDir(dir)
		if err != nil {
			return "", false
		}
		found := false
		for _, e := range entries {
			if strings.EqualFold(e.Name(), part) {
				dir, found = path.Join(dir, e.Name()), true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	return dir, dir != "."
}

// stageFile copies one file out of the ISO into tmp/, hashed.
func (st *staged) stageFile(iso fs.FS, p, tmpDir string) (*BootFile, error) {
	src, err := iso.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s in the ISO: %v", ErrCorrupt, p, err)
	}
	defer src.Close()
	dst, err := os.CreateTemp(tmpDir, "boot-*")
	if err != nil {
		return nil, err
	}
	st.tmp = append(st.tmp, dst.Name())
	defer dst.Close()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, sum), src)
	if err != nil {
		return nil, fmt.Errorf("extract %s from the ISO: %w", p, err)
	}
	if err := dst.Sync(); err != nil {
		return nil, err
	}
	bf := &BootFile{Path: "/" + p, SHA256: hex.EncodeToString(sum.Sum(nil)), Size: n}
	st.blobs = append(st.blobs, stagedBlob{path: dst.Name(), digest: bf.SHA256})
	return bf, nil
}
