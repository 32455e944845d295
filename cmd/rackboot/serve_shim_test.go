package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/boot"
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
