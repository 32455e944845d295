package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/rackboot/rackboot/images/initramfs"
	"github.com/spf13/cobra"
)

// newImageCmd groups the image commands; the image store's (import, list,
// show, rm) join it through withImageStoreCmds.
func newImageCmd() *cobra.Command {
	c := &cobra.Command{Use: "image", Short: "Build and manage the images rackboot serves"}
	c.AddCommand(newImageInitramfsCmd())
	return c
}

func newImageInitramfsCmd() *cobra.Command {
	var (
		cfg   initramfs.Config
		out   string
		build bool
	)
	c := &cobra.Command{
		Use:   "initramfs --kernel-modules DIR [--binary PATH | --build] [-o FILE]",
		Short: "Build the installer ramdisk: this rackboot as /init plus the kernel's NIC and disk drivers",
		Long: "Builds a gzip'd newc cpio for `serve --installer-initrd`. The kernel and its modules\n" +
			"come from Debian's linux-image package: `eval \"$(scripts/fetch-kernel)\"` then\n" +
			"`rackboot image initramfs --kernel-modules $MODULES`. /init must be a static binary:\n" +
			"the running rackboot when it is one, --binary, or --build (go build with CGO_ENABLED=0).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			bin, cleanup, err := initBinary(cmd, cfg.Binary, build)
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.Binary = bin
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := initramfs.BuildFile(cfg, out); err != nil {
				if errors.Is(err, initramfs.ErrNotStatic) {
					return fmt.Errorf("%w (pass --build, or --binary with a CGO_ENABLED=0 build)", err)
				}
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d bytes\n", out, fi.Size())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.ModulesDir, "kernel-modules", "", "the kernel's lib/modules/<version> directory (required)")
	f.StringVar(&cfg.KernelVersion, "kernel-version", "", "kernel version (default: the base name of --kernel-modules)")
	f.StringVar(&cfg.Binary, "binary", "", "static rackboot binary for /init (default: this one)")
	f.BoolVar(&build, "build", false, "build ./cmd/rackboot statically from the module in the current directory for /init")
	f.StringSliceVar(&cfg.Modules, "modules", nil, "modules to include, replacing the default NIC and disk drivers")
	f.StringSliceVar(&cfg.Extra, "extra-modules", nil, "modules to include besides the default ones")
	f.StringVarP(&out, "output", "o", "build/installer.cpio.gz", "file to write")
	c.MarkFlagRequired("kernel-modules")
	c.MarkFlagsMutuallyExclusive("binary", "build")
	return c
}

// initBinary picks the binary for /init: the one given, a fresh static
// build, or the running executable. The builder checks it is static.
func initBinary(cmd *cobra.Command, given string, build bool) (string, func(), error) {
	nothing := func() {}
	switch {
	case given != "":
		return given, nothing, nil
	case build:
		dir, err := os.MkdirTemp("", "rackboot-init-")
		if err != nil {
			return "", nothing, err
		}
		bin := filepath.Join(dir, "rackboot")
		if err := initramfs.BuildBinary(cmd.Context(), ".", "./cmd/rackboot", bin); err != nil {
			os.RemoveAll(dir)
			return "", nothing, err
		}
		return bin, func() { os.RemoveAll(dir) }, nil
	default:
		self, err := os.Executable()
		return self, nothing, err
	}
}
