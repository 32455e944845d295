package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

func newHostCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "host", Short: "List, show, add and remove hosts"}
	cf.register(cmd)
	cmd.AddCommand(newHostListCmd(&cf), newHostShowCmd(&cf), newHostAddCmd(&cf), newHostSetCmd(&cf), newHostRmCmd(&cf), newHostPowerCmd(&cf), newHostAgentTokenCmd(&cf),
		newHostDeployCmd(&cf), newHostReleaseCmd(&cf), newHostRetryCmd(&cf))
	return cmd
}

func newHostListCmd(cf *clientFlags) *cobra.Command {
	var state, label, search string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List hosts (all pages unless --limit is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"state": state, "label": label, "q": search} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var hosts []inventory.Host
			for {
				if limit > 0 {
					q.Set("limit", fmt.Sprint(min(limit-len(hosts), inventory.MaxLimit)))
				} else {
					q.Set("limit", fmt.Sprint(inventory.MaxLimit))
				}
				var page inventory.Page
				if err := c.do(cmd.Context(), "GET", "/api/v1/hosts?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				hosts = append(hosts, page.Hosts...)
				if page.Next == "" || (limit > 0 && len(hosts) >= limit) {
					break
				}
				q.Set("after", page.Next)
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), hosts)
			}
			return printHostTable(cmd.OutOrStdout(), hosts)
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only hosts in this state")
	cmd.Flags().StringVar(&label, "label", "", "only hosts with this label (key or key=value)")
	cmd.Flags().StringVar(&search, "search", "", "only hosts whose MAC or hostname contains this")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many hosts")
	return cmd
}

func printHostTable(w io.Writer, hosts []inventory.Host) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAC\tSTATE\tHOSTNAME\tIP\tIMAGE\tLABELS")
	for _, h := range hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.MAC, h.State, dash(h.Hostname), dash(h.IP), dash(h.Image), dash(labelString(h.Labels)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func labelString(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func newHostShowCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show MAC",
		Short: "Show one host and its latest events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var h inventory.Host
			if err := c.do(cmd.Context(), "GET", "/api/v1/hosts/"+url.PathEscape(args[0]), nil, &h); err != nil {
				return err
			}
			var ev struct{ Events []inventory.Event }
			if err := c.do(cmd.Context(), "GET", "/api/v1/hosts/"+h.MAC+"/events?limit=10", nil, &ev); err != nil {
				return err
			}
			var vals struct{ Values []inventory.PublishedValue }
			if err := c.do(cmd.Context(), "GET", "/api/v1/hosts/"+h.MAC+"/values", nil, &vals); err != nil {
				return err
			}
			var bs struct{ Steps []boottrace.Step }
			if err := c.do(cmd.Context(), "GET", "/api/v1/hosts/"+h.MAC+"/boot-steps", nil, &bs); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), map[string]any{"host": h, "events": ev.Events, "values": vals.Values, "boot_steps": bs.Steps})
			}
			if err := printHost(cmd.OutOrStdout(), h, vals.Values, ev.Events); err != nil {
				return err
			}
			return printBootSteps(cmd.OutOrStdout(), bs.Steps)
		},
	}
}

func printHost(w io.Writer, h inventory.Host, values []inventory.PublishedValue, events []inventory.Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, dash(v)) }
	row("MAC", h.MAC)
	row("State", string(h.State)+" since "+h.StateChangedAt.Format(time.RFC3339))
	if h.Failure != nil {
		row("Failure", fmt.Sprintf("%s (left %s)", h.Failure.Cause, h.Failure.From))
	}
	row("Hostname", h.Hostname)
	row("IP", h.IP)
	if n := h.Network; n != nil {
		row("Network", fmt.Sprintf("static %s gateway %s dns %s", n.Address, dash(n.Gateway), dash(strings.Join(n.DNS, " "))))
	}
	row("UUID", h.UUID)
	row("Serial", h.Serial)
	row("Labels", labelString(h.Labels))
	row("Image", h.Image)
	if h.UEFILoader != "" {
		row("UEFI loader", h.UEFILoader)
	}
	if h.Wipe != nil {
		row("Wipe", "quick wipe pending, asked "+h.Wipe.RequestedAt.Format(time.RFC3339)+" by "+dash(h.Wipe.Actor))
	}
	if h.BMC != nil {
		row("BMC", fmt.Sprintf("%s %s user=%s password-set=%v", h.BMC.Protocol, h.BMC.Address, h.BMC.Username, h.BMC.HasPassword))
	}
	if f := h.Facts; f != nil {
		row("Hardware", fmt.Sprintf("%s %s, %d× %s, %d MiB, %s", f.Vendor, f.Product, f.CPUs, f.CPUModel, f.MemoryBytes>>20, f.Firmware))
		if f.Firmware == "uefi" {
			row("Secure Boot", map[bool]string{true: "on", false: "off"}[f.SecureBoot])
		}
		for _, d := range f.Disks {
			row("Disk", fmt.Sprintf("%s %d MiB %s", d.Name, d.SizeBytes>>20, d.Model))
		}
	}
	agentRows(row, h.Agent)
	renderRows(row, h.RenderFailure)
	for _, v := range values {
		row("Published", v.Key+" = "+v.Value)
	}
	row("Version", fmt.Sprint(h.Version))
	tw.Flush()
	if len(events) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nEvents (newest first):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		change := e.Type
		if e.Type == inventory.EventTransition {
			change = fmt.Sprintf("%s → %s", e.From, e.To)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), change, dash(e.Cause), e.Actor)
	}
	return tw.Flush()
}

// printBootSteps lists the steps of the host's latest netboots.
func printBootSteps(w io.Writer, steps []boottrace.Step) error {
	if len(steps) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nBoot steps (oldest first, since the appliance started):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Time.Format(time.RFC3339), s.Step, dash(s.Detail), dash(s.Via))
	}
	return tw.Flush()
}

func newHostAddCmd(cf *clientFlags) *cobra.Command {
	var b struct {
		hostname, ip, uuid, serial, bmcAddr, bmcProto, bmcUser string
		uefiLoader                                             string
		labels                                                 []string
		address, gateway                                       string
		dns                                                    []string
	}
	cmd := &cobra.Command{
		Use:   "add MAC",
		Short: "Enrol a host (state discovered); the BMC password is read from $RACKBOOT_BMC_PASSWORD",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			labels := map[string]string{}
			for _, l := range b.labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok {
					return fmt.Errorf("--label %q: want key=value", l)
				}
				labels[k] = v
			}
			body := map[string]any{"mac": args[0], "hostname": b.hostname, "ip": b.ip, "uuid": b.uuid, "serial": b.serial, "labels": labels,
				"uefi_loader": b.uefiLoader}
			if b.address != "" {
				body["network"] = map[string]any{"address": b.address, "gateway": b.gateway, "dns": b.dns}
			}
			if b.bmcAddr != "" {
				body["bmc"] = map[string]string{"address": b.bmcAddr, "protocol": b.bmcProto, "username": b.bmcUser, "password": os.Getenv("RACKBOOT_BMC_PASSWORD")}
			}
			var h inventory.Host
			if err := c.do(cmd.Context(), "POST", "/api/v1/hosts", body, &h); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), h)
			}
			return printHostTable(cmd.OutOrStdout(), []inventory.Host{h})
		},
	}
	f := cmd.Flags()
	f.StringVar(&b.hostname, "hostname", "", "hostname")
	f.StringVar(&b.ip, "ip", "", "IPv4 address to reserve for it")
	f.StringVar(&b.uuid, "uuid", "", "system UUID")
	f.StringVar(&b.serial, "serial", "", "serial number")
	f.StringArrayVar(&b.labels, "label", nil, "label key=value (repeatable)")
	f.StringVar(&b.uefiLoader, "uefi-loader", "", uefiLoaderHelp)
	f.StringVar(&b.address, "static-address", "", "static address of the installed OS, CIDR (default: DHCP on the boot NIC)")
	f.StringVar(&b.gateway, "gateway", "", "default gateway with --static-address")
	f.StringArrayVar(&b.dns, "dns", nil, "name server with --static-address (repeatable)")
	f.StringVar(&b.bmcAddr, "bmc-address", "", "BMC address (host or host:port)")
	f.StringVar(&b.bmcProto, "bmc-protocol", "redfish", "BMC protocol: redfish or ipmi")
	f.StringVar(&b.bmcUser, "bmc-username", "", "BMC user name")
	return cmd
}

func newHostRmCmd(cf *clientFlags) *cobra.Command {
	return newRmCmd(cf, "rm MAC...", "Remove hosts and their event logs", "hosts")
}
