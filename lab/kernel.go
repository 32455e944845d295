package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rackboot/rackboot/images/initramfs"
)

// CacheDir is where the lab keeps what is slow to fetch: Debian's kernel
// package, extracted, under ~/.cache/rackboot (or $RACKBOOT_CACHE).
func CacheDir() string {
	if d := os.Getenv("RACKBOOT_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "rackboot")
}

// Kernel is the installer's kernel and its modules.
type Kernel struct {
	Vmlinuz string
	Modules string // lib/modules/<version>
}

// FetchKernel gives the kernel that Debian's linux-image-amd64 points at,
// downloaded with apt-get and extracted with dpkg-deb (never installed)
// into CacheDir once; later calls reuse it.
func FetchKernel(ctx context.Context) (Kernel, error) { return FetchKernelPackage(ctx, "") }

// FetchKernelPackage is FetchKernel for one package, such as
// linux-image-6.1.0-57-amd64; empty is the one linux-image-amd64 points
// at. It is the one kernel fetch: scripts/fetch-kernel runs it too
// (rackboot lab kernel).
func FetchKernelPackage(ctx context.Context, pkg string) (Kernel, error) {
	if pkg == "" {
		var err error
		if pkg, err = kernelPackage(ctx); err != nil {
			return Kernel{}, err
		}
	}
	if !strings.HasPrefix(pkg, "linux-image-") || strings.ContainsAny(pkg, "/ ") {
		return Kernel{}, fmt.Errorf("kernel: package %q: want linux-image-VERSION", pkg)
	}
	ver := strings.TrimPrefix(pkg, "linux-image-")
	dir := filepath.Join(CacheDir(), "kernel", pkg)
	k := Kernel{Vmlinuz: filepath.Join(dir, "boot", "vmlinuz-"+ver), Modules: filepath.Join(dir, "lib", "modules", ver)}
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return k, nil
	}
	dl := dir + ".download"
	os.RemoveAll(dl)
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return Kernel{}, err
	}
	defer os.RemoveAll(dl)
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		return Kernel{}, fmt.Errorf("kernel: apt-get download %s: %v: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) == 0 {
		return Kernel{}, fmt.Errorf("kernel: apt-get download %s left no package", pkg)
	}
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], dir).CombinedOutput(); err != nil {
		return Kernel{}, fmt.Errorf("kernel: dpkg-deb -x: %v: %s", err, out)
	}
	for _, p := range []string{k.Vmlinuz, k.Modules} {
		if _, err := os.Stat(p); err != nil {
			return Kernel{}, fmt.Errorf("kernel: %s: %w", pkg, err)
		}
	}
	return k, os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644)
}

// kernelPackage is the versioned package linux-image-amd64 depends on
// (the metapackage holds no kernel); it updates apt's lists once if they
// do not know it.
func kernelPackage(ctx context.Context) (string, error) {
	find := func() string {
		out, _ := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") && f[1] != "linux-image-amd64" {
				if c := f[1][len("linux-image-")]; c >= '0' && c <= '9' {
					return f[1]
				}
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p, nil
	}
	exec.CommandContext(ctx, "apt-get", "update", "-qq").Run()
	if p := find(); p != "" {
		return p, nil
	}
	return "", errors.New("kernel: apt-cache cannot resolve linux-image-amd64")
}

// BuildInstaller writes the installer ramdisk: binary (static) as /init
// plus the kernel's NIC and disk drivers.
func BuildInstaller(k Kernel, binary, out string) error {
	cfg := initramfs.Config{ModulesDir: k.Modules, Binary: binary, Log: slog.New(slog.DiscardHandler)}
	if err := initramfs.BuildFile(cfg, out); err != nil {
		return fmt.Errorf("installer ramdisk: %w", err)
	}
	return nil
}
