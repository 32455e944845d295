package main

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
)

// TestCheckSignedChain: a missing shim or GRUB stops serve when the chain
// is asked for (appliance default shim, or a file named), naming the flag,
// the path and Debian's package; with the iPXE default and the default
// paths it is only a warning; a bad --uefi-loader is refused.
func TestCheckSignedChain(t *testing.T) {
	dir := t.TempDir()
	shim, grub := filepath.Join(dir, "shim.efi"), filepath.Join(dir, "grub.efi")
	os.WriteFile(shim, []byte("x"), 0o644)
	os.WriteFile(grub, []byte("x"), 0o644)
	missing := filepath.Join(dir, "nope.efi")
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		c    bootConfig
		err  string
	}{
		{"shim, both present", bootConfig{UEFILoader: "shim", ShimFile: shim, GRUBFile: grub}, ""},
		{"shim, shim missing", bootConfig{UEFILoader: "shim", ShimFile: missing, GRUBFile: grub}, "--shim-file " + missing + ": no such file (Debian's package shim-signed"},
		{"shim, grub a directory", bootConfig{UEFILoader: "shim", ShimFile: shim, GRUBFile: dir}, "--grub-file " + dir + ": not a regular file"},
		{"ipxe, file named and missing", bootConfig{UEFILoader: "ipxe", ShimFile: missing, GRUBFile: grub}, "--shim-file"},
		{"ipxe, bad loader", bootConfig{UEFILoader: "pxelinux", ShimFile: shim, GRUBFile: grub}, `--uefi-loader "pxelinux": want one of ipxe, shim`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.checkSignedChain(log)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	// The defaults with iPXE: a warning at most, whatever is installed here.
	if err := (&bootConfig{UEFILoader: "ipxe", ShimFile: boot.ShimFile, GRUBFile: boot.GRUBFile}).checkSignedChain(log); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// TestTraceTFTP: TFTP's whole files become the steps of the host DHCP
// bound the address to; GRUB's configs are left to the machine side.
func TestTraceTFTP(t *testing.T) {
	b := &bootSide{trace: &boottrace.Trace{}}
	ip := netip.MustParseAddr("10.0.0.50")
	const mac = "52:54:00:12:34:56"
	b.trace.Bind(ip, mac)
	for _, name := range []string{"/bootx64.efi", "grubx64.efi", "grub/grub.cfg", "grub/grub.cfg-" + mac, "boot/installer/vmlinuz", "boot/installer/initrd.cpio.gz", "vmlinuz-unsigned"} {
		b.traceTFTP(ip, name)
	}
	b.traceTFTP(netip.MustParseAddr("10.0.0.51"), "bootx64.efi") // an address DHCP did not give
	got := boottrace.Summary(b.trace.Steps(mac))
	want := "loader bootx64.efi (tftp) → loader grubx64.efi (tftp) → kernel boot/installer/vmlinuz (tftp) → " +
		"initrd boot/installer/initrd.cpio.gz (tftp) → kernel vmlinuz-unsigned (tftp)"
	if got != want {
		t.Fatalf("steps %q\nwant %q", got, want)
	}
}
