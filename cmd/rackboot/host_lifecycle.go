package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// hostAction posts a host action and prints the host it answers with:
// JSON with -o json, else line(h), by default "MAC: state".
func hostAction(cmd *cobra.Command, cf *clientFlags, mac, action string, body any, line ...func(inventory.Host) string) error {
	c, err := cf.client()
	if err != nil {
		return err
	}
	var h inventory.Host
	if err := c.do(cmd.Context(), "POST", "/api/v1/hosts/"+url.PathEscape(mac)+"/actions/"+action, body, &h); err != nil {
		return err
	}
	if cf.output == "json" {
		return printJSON(cmd.OutOrStdout(), h)
	}
	if len(line) > 0 {
		fmt.Fprintln(cmd.OutOrStdout(), line[0](h))
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", h.MAC, h.State)
	return nil
}

func newHostDeployCmd(cf *clientFlags) *cobra.Command {
	var image, disk, serial, userData string
	var keyFiles []string
	c := &cobra.Command{
		Use:   "deploy MAC --image NAME [--user-data FILE] [--ssh-key FILE]...",
		Short: "Write an image to a ready host's disk; the host then boots it",
		Long: `Write an image to a ready host's disk and seed it for the image's own
cloud-init: the host's hostname, network (DHCP on its boot NIC, or its
static address), the SSH keys (given to the image's default user: debian,
ubuntu, cloud-user, ...), --user-data FILE (a #cloud-config or a #!
script), the user-data parts its labels select (rackboot user-data apply),
and the rackboot agent. cloud-init appends lists (write_files, runcmd,
packages) across parts; for any other key the host's own value wins. The request is checked first (keys, user-data, an
image its import found no place to seed in): a refusal changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"image": image, "disk": map[string]any{"path": disk, "serial": serial}}
			if userData != "" {
				b, err := os.ReadFile(userData)
				if err != nil {
					return fmt.Errorf("--user-data: %w", err)
				}
				body["user_data"] = string(b)
			}
			var keys []string
			for _, f := range keyFiles {
				b, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("--ssh-key: %w", err)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
						keys = append(keys, line)
					}
				}
			}
			body["ssh_keys"] = keys
			return hostAction(cmd, cf, args[0], "deploy", body)
		},
	}
	c.Flags().StringVar(&image, "image", "", "name of the image (rackboot image list)")
	c.Flags().StringVar(&disk, "disk", "", "write to this disk (e.g. /dev/sda) instead of the first non-removable one that fits")
	c.Flags().StringVar(&serial, "disk-serial", "", "write to the disk with this serial number")
	c.Flags().StringArrayVar(&keyFiles, "ssh-key", nil, "authorized_keys file for the installed host's default user (repeatable; one key a line)")
	c.Flags().StringVar(&userData, "user-data", "", "cloud-init user-data for this host: a #cloud-config or a #! script; its values win over its labels' parts, lists are appended")
	c.MarkFlagRequired("image")
	return c
}

func newHostReleaseCmd(cf *clientFlags) *cobra.Command {
	var wipe bool
	c := &cobra.Command{
		Use:   "release MAC [--wipe]",
		Short: "Return a host to ready (a host with a BMC is netbooted into the installer)",
		Long: `Return a host to ready. A host with a BMC is netbooted into the installer
at once; any other must be rebooted into it.

With --wipe the installer first makes a quick wipe of every non-removable
disk: partition tables, and the first and last MiB of every partition and
the first and last 2 MiB of every disk, so no old filesystem, LVM or RAID
label is found again. It does not overwrite the data itself. The host's
events show "wipe-requested" and then "wiped" with what was done.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body any
			if wipe {
				body = map[string]any{"wipe": true}
			}
			return hostAction(cmd, cf, args[0], "release", body)
		},
	}
	c.Flags().BoolVar(&wipe, "wipe", false, "quick-wipe the host's disks before it is ready for another deploy")
	return c
}

func newHostRetryCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry MAC",
		Short: "Return a failed host to the state it left, to try again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return hostAction(cmd, cf, args[0], "retry", nil)
		},
	}
}
