package main

import (
	"github.com/rackboot/rackboot/installer"
	"github.com/spf13/cobra"
)

// newInstallerCmd runs the installer outside the ramdisk, for debugging it
// on a running Linux machine. In the ramdisk rackboot is /init and main
// starts the installer before any command is parsed.
func newInstallerCmd() *cobra.Command {
	var o installer.Options
	c := &cobra.Command{
		Use:    "installer [--cmdline 'rackboot.url=… rackboot.token=…'] [--machine]",
		Short:  "Run the installer ramdisk's program (what /init runs as PID 1)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Log = installer.NewConsoleLogger(cmd.ErrOrStderr())
			return installer.Run(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Root, "root", "/", "root of the machine to inspect (a copy of /sys and /proc works)")
	f.StringVar(&o.Cmdline, "cmdline", "", "kernel command line to use instead of ROOT/proc/cmdline")
	f.BoolVar(&o.Machine, "machine", false, "also load ROOT's ramdisk modules and configure the boot NIC (changes this machine's network)")
	return c
}
