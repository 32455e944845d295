package main

import (
	"fmt"

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
			return hostAction(cmd, cf, args[0], op, nil, func(h inventory.Host) string {
				state := "unknown"
				if h.BMC != nil && h.BMC.PowerState != "" {
					state = h.BMC.PowerState
				}
				return h.MAC + ": power " + state
			})
		},
	}
}
