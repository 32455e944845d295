package main

import (
	"fmt"
	"net/url"

	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

func newHostPowerCmd(cf *clientFlags) *cobra.Command {
	ops := map[string]string{"on": "power-on", "off": "power-off", "cycle": "power-cycle", "status": "power-status"}
	return &cobra.Command{
		Use:       "power MAC on|off|cycle|status",
		Short:     "Power a host on, off or through a cycle with its BMC, or ask the BMC its state",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"on", "off", "cycle", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			op, ok := ops[args[1]]
			if !ok {
				return fmt.Errorf("power %q: want on, off, cycle or status", args[1])
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var h inventory.Host
			if err := c.do(cmd.Context(), "POST", "/api/v1/hosts/"+url.PathEscape(args[0])+"/actions/"+op, nil, &h); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), h)
			}
			state := "unknown"
			if h.BMC != nil && h.BMC.PowerState != "" {
				state = h.BMC.PowerState
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: power %s\n", h.MAC, state)
			return nil
		},
	}
}
