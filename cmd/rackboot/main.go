// Command rackboot is the bare-metal provisioning appliance: `rackboot
// serve` runs it, the other commands are clients of its API.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rackboot/rackboot/installer"
	"github.com/spf13/cobra"
)

func main() {
	if os.Getpid() == 1 { // rackboot is /init in the installer ramdisk
		installer.Main() // never returns
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole CLI, callable in-process by tests. What it prints goes
// through termSafe: text from machines never drives the terminal.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stdout, stderr = &termSafe{w: stdout}, &termSafe{w: stderr}
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		io.WriteString(stderr, "rackboot: "+err.Error()+"\n")
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "rackboot",
		Short:         "Bare-metal provisioning appliance: DHCP, TFTP and HTTP boot, inventory, BMC power and a config agent",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newHostCmd(), newBMCCmd(), newVersionCmd(), withImageStoreCmds(newImageCmd()), newInstallerCmd(), newAgentCmd(), newConfigCmd(),
		newUserDataCmd(), newBackupCmd(), newRestoreCmd(), newDoctorCmd(), newManCmd(), newCertCmd(), newLabCmd())
	return root
}
