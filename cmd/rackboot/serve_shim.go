package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// checkSignedChain checks --uefi-loader and the files of the signed chain.
// A missing shim or GRUB stops serve when the chain was asked for (the
// appliance default is shim, or a file was named); otherwise it is a
// warning, because only hosts known to have Secure Boot on, or set to
// shim, would be offered it.
func (c *bootConfig) checkSignedChain(log *slog.Logger) error {
	if !slices.Contains(boot.UEFILoaders, c.UEFILoader) {
		return fmt.Errorf("--uefi-loader %q: want one of %s", c.UEFILoader, strings.Join(boot.UEFILoaders, ", "))
	}
	required := c.signedChainRequired()
	for _, f := range c.signedChainFiles() {
		err := regularFile(f.path)
		if err == nil {
			continue
		}
		err = fmt.Errorf("--%s %s: %w (Debian's package %s installs it; the signed chain boots hosts with Secure Boot on)", f.flag, f.path, err, f.pkg)
		if required {
			return err
		}
		log.Warn("signed chain unavailable: hosts with Secure Boot on cannot netboot", "err", err)
	}
	return nil
}

// signedChainRequired: the chain was asked for (the appliance default is
// shim, or a file was named), so a missing file stops serve.
func (c *bootConfig) signedChainRequired() bool {
	return c.UEFILoader == boot.UEFIShim || c.ShimFile != boot.ShimFile || c.GRUBFile != boot.GRUBFile
}

// signedChainFile is a file of the signed chain: its flag, path and the
// Debian package that installs it.
type signedChainFile struct{ what, flag, path, pkg string }

func (c *bootConfig) signedChainFiles() []signedChainFile {
	return []signedChainFile{
		{"Secure Boot shim", "shim-file", c.ShimFile, "shim-signed"},
		{"Secure Boot GRUB", "grub-file", c.GRUBFile, "grub-efi-amd64-signed"},
	}
}

func regularFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}

// tftpFiles are the operator-named files TFTP serves: the iPXE loaders,
// the signed chain, and the installer (Debian's signed GRUB loads it over
// TFTP: it has no HTTP client).
func (c *bootConfig) tftpFiles() map[string]string {
	m := ipxeFiles(c.IPXEDir)
	m[boot.LoaderShim] = c.ShimFile
	m[boot.LoaderGRUB] = c.GRUBFile
	dir := strings.TrimPrefix(boot.PathInstaller, "/")
	if c.InstallerKernel != "" {
		m[dir+boot.InstallerKernel] = c.InstallerKernel
	}
	if c.InstallerInitrd != "" {
		m[dir+boot.InstallerInitrd] = c.InstallerInitrd
	}
	return m
}

// traceTFTP records a file TFTP sent whole as a step of the host DHCP gave
// the client's address. The installer's files, and any file named vmlinuz*
// or initrd* (a template's own kernel), are the kernel and initrd steps;
// every other file is a loader.
func (b *bootSide) traceTFTP(client netip.Addr, name string) {
	name = strings.TrimLeft(name, "/")
	step := boottrace.StepLoader
	switch base := path.Base(name); {
	case strings.HasPrefix(name, "grub/"):
		return // the GRUB configs are recorded by the machine side, by MAC
	case base == boot.InstallerKernel || strings.HasPrefix(base, "vmlinuz"):
		step = boottrace.StepKernel
	case base == boot.InstallerInitrd || strings.HasPrefix(base, "initrd"):
		step = boottrace.StepInitrd
	}
	b.trace.RecordFrom(client, step, name, "tftp")
}

// stalledAfter is how long a boot's last step may stand before its steps
// go to the host's event log as a boot that stopped.
const stalledAfter = 2 * time.Minute

// logStalledBoots writes the steps of boots that stopped short of the
// installer's claim to their hosts' event logs, so an operator sees how
// far a chain got. It is a timer of its own so that no GET writes.
func logStalledBoots(ctx context.Context, trace *boottrace.Trace, lc *provision.Lifecycle, log *slog.Logger) error {
	t := time.NewTicker(stalledAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for mac, steps := range trace.Stalled(stalledAfter) {
			err := lc.LogBoot(ctx, mac, provision.EventBootSteps, boottrace.Describe(steps))
			if err != nil && !errors.Is(err, inventory.ErrNotFound) {
				log.Warn("log a stalled boot", "mac", mac, "err", err)
			}
		}
	}
}
