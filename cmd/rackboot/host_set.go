package main

import (
	"errors"
	"net/url"

	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

const uefiLoaderHelp = "what the host's UEFI firmware gets first: ipxe, or shim (Debian's signed shim and GRUB, for Secure Boot); empty follows serve --uefi-loader"

var errNothingToSet = errors.New("host set: nothing to change; give --uefi-loader")

// newHostSetCmd changes settings of an enrolled host through PATCH; only
// the flags given are sent, so the others keep their values.
func newHostSetCmd(cf *clientFlags) *cobra.Command {
	var uefiLoader string
	cmd := &cobra.Command{
		Use:   "set MAC --uefi-loader ipxe|shim|\"\"",
		Short: "Change a host's settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("uefi-loader") {
				body["uefi_loader"] = uefiLoader
			}
			if len(body) == 0 {
				return errNothingToSet
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var h inventory.Host
			if err := c.do(cmd.Context(), "PATCH", "/api/v1/hosts/"+url.PathEscape(args[0]), body, &h); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), h)
			}
			return printHostTable(cmd.OutOrStdout(), []inventory.Host{h})
		},
	}
	cmd.Flags().StringVar(&uefiLoader, "uefi-loader", "", uefiLoaderHelp)
	return cmd
}
