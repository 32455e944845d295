package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rackboot/rackboot/bmc/virtual"
	"github.com/spf13/cobra"
)

func newBMCCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bmc", Short: "BMC tools for the lab"}
	cmd.AddCommand(newBMCVirtualCmd())
	return cmd
}

func newBMCVirtualCmd() *cobra.Command {
	var listen, user, qmp, logFormat string
	var ignoreBoot bool
	cmd := &cobra.Command{
		Use:   "virtual --listen ADDR [--username U] [--qmp-socket PATH] -- QEMU-ARGV...",
		Short: "Run a virtual Redfish BMC in front of one QEMU VM (the password is read from $RACKBOOT_BMC_PASSWORD)",
		Long: `Run a Redfish service whose one ComputerSystem is a QEMU VM: power on
starts QEMU with the given argv (plus -qmp and the -boot order of any boot
override), power off quits it through QMP. For the lab and tests; it has
one account and no TLS.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			pw := os.Getenv("RACKBOOT_BMC_PASSWORD")
			if pw == "" {
				return fmt.Errorf("set RACKBOOT_BMC_PASSWORD to the password of the virtual BMC")
			}
			if qmp == "" {
				qmp = filepath.Join(os.TempDir(), fmt.Sprintf("rackboot-vbmc-%d.qmp", os.Getpid()))
			}
			log, err := newLogger(cmd.ErrOrStderr(), logFormat, 0)
			if err != nil {
				return err
			}
			s, err := virtual.New(virtual.Config{ListenAddr: listen, Username: user, Password: pw, QEMUArgv: argv, QMPSocket: qmp, Logger: log,
				IgnoreBootOverride: ignoreBoot})
			if err != nil {
				return err
			}
			defer s.Close()
			log.Info("virtual BMC serving", "listen", listen, "qmp", qmp)
			return s.ListenAndServe(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "address the Redfish service listens on (plain HTTP)")
	cmd.Flags().StringVar(&user, "username", "admin", "the account's user name")
	cmd.Flags().StringVar(&qmp, "qmp-socket", "", "QMP socket path for the VM (default a file in $TMPDIR)")
	cmd.Flags().StringVar(&logFormat, "log-format", "auto", "auto, text or json")
	cmd.Flags().BoolVar(&ignoreBoot, "ignore-boot-override", false, "accept boot override requests and keep the old override, like a faulty vendor BMC (for tests)")
	return cmd
}
