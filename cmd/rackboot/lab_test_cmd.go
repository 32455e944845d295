package main

import (
	"fmt"
	"os"

	"bytes"
	"github.com/rackboot/rackboot/atomicfile"
	"github.com/rackboot/rackboot/lab"
	"github.com/spf13/cobra"
)

func newLabTestCmd(dir *string) *cobra.Command {
	var (
		junit string
		keep  bool
		cfg   lab.Config
	)
	c := &cobra.Command{
		Use:   "test FILE",
		Short: "Run a declarative lab test (YAML) in a lab of its own and write a JUnit report; exits non-zero on failure",
		Long: `Runs the spec in FILE: images to import, configs and user-data to apply, VMs to
create and deploy, and expectations (a state within a time, a console line, a
command's output or a file over SSH, the agent converged). Each setup step and
expectation is a JUnit test case; a failure carries the VM's last console lines
and its events. The lab is made in a new directory (or --dir) and removed
after unless --keep. See docs/lab-test.md for the format.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := lab.LoadSpec(args[0])
			if err != nil {
				return err
			}
			if err := labConfig(&cfg, *dir, "redfish", "1G", "512M"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("dir") {
				if cfg.Dir, err = os.MkdirTemp("", "rackboot-lab-test-"); err != nil {
					return err
				}
				if !keep {
					defer os.RemoveAll(cfg.Dir)
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "lab test %s in %s; VMs run under %s\n", spec.Name, cfg.Dir, accelNote())
			report, runErr := lab.Run(cmd.Context(), spec, cfg, keep, out)
			var b bytes.Buffer
			if err := report.WriteJUnit(&b); err != nil {
				return err
			}
			if err := atomicfile.Write(junit, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("junit report: %w", err)
			}
			fmt.Fprintf(out, "%d passed, %d failed; JUnit report %s\n", len(report.Cases)-report.Failed(), report.Failed(), junit)
			if keep {
				fmt.Fprintf(out, "the lab is kept: rackboot lab status --dir %s\n", cfg.Dir)
			}
			switch {
			case runErr != nil:
				return fmt.Errorf("lab test: %w", runErr)
			case report.Failed() > 0:
				return fmt.Errorf("lab test %s: %d of %d cases failed", spec.Name, report.Failed(), len(report.Cases))
			}
			return nil
		},
	}
	c.Flags().StringVar(&junit, "junit", "lab-test.xml", "where to write the JUnit XML report")
	c.Flags().BoolVar(&keep, "keep", false, "leave the lab running after the test (rackboot lab down removes it)")
	c.Flags().StringVar(&cfg.InstallerKernel, "installer-kernel", "", "installer kernel (default Debian's, fetched once)")
	c.Flags().StringVar(&cfg.InstallerInitrd, "installer-initrd", "", "installer ramdisk (default built from this rackboot)")
	return c
}
