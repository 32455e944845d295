package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rackboot/rackboot/images/initramfs"
	"github.com/rackboot/rackboot/lab"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newLabCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "lab",
		Short: "A virtual rack on this machine: QEMU VMs netbooting from rackboot in a private network namespace",
		Long: `A lab is a network namespace with a bridge, rackboot serve inside it in full
DHCP mode, and QEMU VMs, each behind a virtual Redfish BMC and enrolled with
it. The dashboard and API are reachable from this machine over a veth pair;
the VMs reach nothing but the appliance. Needs root, iproute2 and QEMU
(scripts/ci-deps installs them). Its state, logs, consoles and disks are in
--dir, so status, console and down work from any shell.`,
	}
	c.PersistentFlags().StringVar(&dir, "dir", defaultLabDir(), "the lab's directory (default $RACKBOOT_LAB_DIR or ~/.local/state/rackboot/lab)")
	c.AddCommand(newLabUpCmd(&dir), newLabStatusCmd(&dir), newLabConsoleCmd(&dir), newLabDownCmd(&dir), newLabTestCmd(&dir), newLabChassisCmd(), newLabKernelCmd())
	return c
}

func defaultLabDir() string {
	if d := os.Getenv("RACKBOOT_LAB_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "rackboot", "lab")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "rackboot-lab"
	}
	return filepath.Join(home, ".local", "state", "rackboot", "lab")
}

func newLabUpCmd(dir *string) *cobra.Command {
	var (
		cfg            lab.Config
		bmc, disk, mem string
		detach         bool
	)
	c := &cobra.Command{
		Use:   "up [--vms N] [--firmware bios,uefi,uefi-sb,...] [--disk SIZE] [--memory SIZE] [--detach]",
		Short: "Create the lab and power its VMs on; in the foreground it shows them live until Ctrl-C, which removes it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := labConfig(&cfg, *dir, bmc, disk, mem); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "lab in %s; VMs run under %s\n", cfg.Dir, accelNote())
			l, err := lab.Up(cmd.Context(), cfg, out)
			if err != nil {
				if cmd.Context().Err() != nil {
					fmt.Fprintln(out, "interrupted; the lab is removed")
					return nil
				}
				if errors.Is(err, initramfs.ErrNotStatic) {
					return fmt.Errorf("%w: the installer needs a static rackboot (make build, or CGO_ENABLED=0 go build)", err)
				}
				return err
			}
			printLabInfo(out, l)
			if detach {
				if cfg.Image != "" {
					fmt.Fprintf(out, "\nthe image is imported as %s; deploy it yourself (rackboot host deploy MAC --image %s): --image deploys only in the foreground\n", lab.ImageName, lab.ImageName)
				}
				fmt.Fprintf(out, "\nrackboot lab status / console VM / down  (--dir %s)\n", l.Dir)
				return nil
			}
			fmt.Fprintln(out, "\nCtrl-C removes the lab.")
			if cfg.Image != "" {
				go l.DeployWhenReady(cmd.Context(), lab.ImageName, func(err error) { fmt.Fprintf(cmd.ErrOrStderr(), "lab: %v\n", err) })
			}
			watchLab(cmd.Context(), l, out)
			fmt.Fprintln(out, "\nremoving the lab…")
			if err := l.Down(); err != nil {
				return err
			}
			fmt.Fprintln(out, "lab removed")
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.VMs, "vms", 1, "how many VMs")
	f.StringSliceVar(&cfg.Firmware, "firmware", []string{"bios"}, "each VM's firmware in turn: bios (SeaBIOS), uefi (OVMF) or uefi-sb (OVMF with Secure Boot and Microsoft's keys; set the host's --uefi-loader shim for it to boot)")
	f.StringVar(&bmc, "bmc", "redfish", "the VMs' BMCs: redfish (rackboot bmc virtual) or ipmi (OpenIPMI's ipmi_sim)")
	f.StringVar(&disk, "disk", "1G", "each VM's blank disk")
	f.StringVar(&mem, "memory", "512M", "each VM's memory")
	f.StringVar(&cfg.InstallerKernel, "installer-kernel", "", "installer kernel (default Debian's, fetched once)")
	f.StringVar(&cfg.InstallerInitrd, "installer-initrd", "", "installer ramdisk (default built from this rackboot)")
	f.StringSliceVar(&cfg.ServeArgs, "serve-arg", nil, "extra flag for rackboot serve (repeatable)")
	f.StringVar(&cfg.Image, "image", "", "an OS image file to import and deploy to each VM once it is ready (in the foreground)")
	f.StringVar(&cfg.AgentConfig, "config", "", "an agent config for the VMs (selector lab=yes)")
	f.BoolVar(&cfg.NoPowerOn, "no-power-on", false, "enrol the VMs and leave them off")
	f.BoolVarP(&detach, "detach", "d", false, "leave the lab running and return")
	return c
}

// labConfig fills what the flags leave to parse.
func labConfig(cfg *lab.Config, dir, bmc, disk, mem string) error {
	cfg.Dir, cfg.BMC = dir, bmc
	var err error
	if cfg.DiskBytes, err = lab.ParseSize(disk); err != nil {
		return fmt.Errorf("--disk: %w", err)
	}
	m, err := lab.ParseSize(mem)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	if cfg.MemoryMB = int(m >> 20); cfg.MemoryMB < 256 {
		return fmt.Errorf("--memory %s: the installer needs at least 256M", mem)
	}
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, taps)")
	}
	cfg.Binary, err = os.Executable()
	return err
}

func accelNote() string {
	if lab.KVMUsable() {
		return "KVM (/dev/kvm)"
	}
	return "TCG (no usable /dev/kvm: slower)"
}

func printLabInfo(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "\ndashboard: %s\n", l.DashboardURL())
	fmt.Fprintf(w, "  its certificate is the lab's own (%s, %s): trust that file in the browser,\n", l.Cert, l.Fingerprint)
	fmt.Fprintf(w, "  or accept the browser's warning once its fingerprint matches this one\n")
	fmt.Fprintf(w, "log in with the operator token: cat %s\n", l.TokenFile())
	fmt.Fprintf(w, "CLI: rackboot host list --server %s --data-dir %s\n", l.API, l.DataDir)
}

// watchLab shows the VMs until ctx ends: a table redrawn in place on a
// terminal, a new table on each change otherwise.
func watchLab(ctx context.Context, l *lab.Lab, w io.Writer) {
	tty := term.IsTerminal(int(os.Stdout.Fd()))
	var last string
	lines := 0
	for {
		var b bytes.Buffer
		lab.WriteTable(&termSafe{w: &b}, l.Status(ctx))
		if ctx.Err() != nil {
			return
		}
		now := b.String()
		switch {
		case tty:
			if lines > 0 {
				fmt.Fprintf(os.Stdout, "\x1b[%dA\x1b[J", lines)
			}
			fmt.Fprintf(os.Stdout, "%s  (%s)\n", now, time.Now().Format("15:04:05"))
			lines = strings.Count(now, "\n") + 1
		case stripFor(now) != stripFor(last):
			fmt.Fprintf(w, "--- %s\n%s", time.Now().Format("15:04:05"), now)
		}
		last = now
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// stripFor drops the FOR column's changing durations so that a table is
// printed again only when something else changed.
func stripFor(table string) string {
	var b strings.Builder
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 6 {
			f = append(f[:6:6], f[7:]...)
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

func openLab(dir string) (*lab.Lab, error) {
	l, err := lab.Open(dir)
	if err != nil {
		return nil, err
	}
	if !l.Running() {
		return nil, fmt.Errorf("the lab in %s is not running (its namespace %s is gone): rackboot lab down --dir %s", l.Dir, l.Namespace, l.Dir)
	}
	return l, nil
}

func newLabStatusCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the lab's VMs: power, state, agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLab(*dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "lab %s (namespace %s, %s)\n", l.Dir, l.Namespace, l.Accel())
			printLabInfo(out, l)
			fmt.Fprintln(out)
			lab.WriteTable(out, l.Status(cmd.Context()))
			return nil
		},
	}
}

func newLabConsoleCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "console VM",
		Short: "Attach to a VM's serial console (Ctrl-] detaches); VM is its name, hostname or MAC",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := openLab(*dir)
			if err != nil {
				return err
			}
			v, ok := l.VM(args[0])
			if !ok {
				return fmt.Errorf("no VM %q in the lab (rackboot lab status)", args[0])
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "console of %s (%s); Ctrl-] detaches\n", v.Name, v.MAC)
			// The console is the VM's terminal: its bytes go to this one as
			// they are, which is what attaching to a console means.
			return lab.Console(cmd.Context(), v, os.Stdin, os.Stdout)
		},
	}
}

func newLabDownCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove the lab: its processes, namespace, bridge, taps and veth (the directory keeps logs and disks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lab.DownDir(*dir); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "lab removed")
			return nil
		},
	}
}

// newLabChassisCmd is the chassis control program of the lab's IPMI BMCs:
// ipmi_sim runs it for every chassis command.
func newLabChassisCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "ipmi-chassis DIR get|set ARGS...",
		Hidden: true,
		Args:   cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return lab.Chassis(args[0], args[1], args[2:], cmd.OutOrStdout())
		},
	}
}

// newLabKernelCmd fetches the installer's kernel into the cache and says
// where it is, in a form a shell can eval (scripts/fetch-kernel).
func newLabKernelCmd() *cobra.Command {
	var pkg string
	c := &cobra.Command{
		Use:   "kernel [--package linux-image-VERSION]",
		Short: "Fetch Debian's kernel for the installer into ~/.cache/rackboot (once) and print VMLINUZ=… and MODULES=…",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := lab.FetchKernelPackage(cmd.Context(), pkg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "VMLINUZ=%s\nMODULES=%s\n", k.Vmlinuz, k.Modules)
			return nil
		},
	}
	c.Flags().StringVar(&pkg, "package", "", "the kernel package (default the one linux-image-amd64 depends on)")
	return c
}
