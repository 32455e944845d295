package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// storedConfig is a config as the API answers it.
type storedConfig struct {
	inventory.AgentConfig
	SelectedHosts int `json:"selected_hosts"`
}

func newConfigCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "config", Short: "Store, list, show and remove the agent's configs"}
	cf.register(cmd)
	cmd.AddCommand(newConfigApplyCmd(&cf), newConfigListCmd(&cf), newConfigShowCmd(&cf), newConfigRmCmd(&cf))
	return cmd
}

func newConfigApplyCmd(cf *clientFlags) *cobra.Command {
	var name, selector string
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Store a config (a YAML resource list, as a template) for the hosts its selector matches",
		Long: `Store a config, creating or replacing it; hosts it selects get the new version
within a second. --selector k=v,k2=v2 selects hosts having every one of these
labels; without one the config selects no host.

The file is a Go template, rendered on the appliance for each host it selects
and again whenever what it read changes: .Host (.Hostname .MAC .IP .Labels
.Facts), hosts "k=v" (the active hosts with those labels, by MAC), value "HOST"
"KEY" (what another host's export resource published), quote. A file without
{{ }} renders to itself.

The config is checked first: a template syntax error, or a YAML mistake in a
config without template actions, is reported with its line and column and
nothing is stored. A config that fails to render for a host leaves the host
its last good graph; host show names the config, line and function.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			sel, err := parseSelector(selector)
			if err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			}
			var sc storedConfig
			in := map[string]any{"selector": sel, "body": string(body)}
			if err := c.do(cmd.Context(), "PUT", "/api/v1/configs/"+url.PathEscape(name), in, &sc); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), sc)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config %s v%d stored; selects %d hosts\n", sc.Name, sc.Version, sc.SelectedHosts)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "config name (default: the file name without its extension)")
	cmd.Flags().StringVar(&selector, "selector", "", "labels a host must all have: key=value,key=value (empty selects no host)")
	return cmd
}

// parseSelector reads "k=v,k2=v2".
func parseSelector(s string) (map[string]string, error) {
	sel := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--selector %q: want key=value,key=value", s)
		}
		sel[k] = v
	}
	return sel, nil
}

func newConfigListCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored configs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var ans struct{ Configs []storedConfig }
			if err := c.do(cmd.Context(), "GET", "/api/v1/configs", nil, &ans); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), ans.Configs)
			}
			return printConfigTable(cmd.OutOrStdout(), ans.Configs)
		},
	}
}

func printConfigTable(w io.Writer, cs []storedConfig) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSELECTOR\tHOSTS\tUPDATED")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", c.Name, c.Version, dash(labelString(c.Selector)), c.SelectedHosts, c.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func newConfigShowCmd(cf *clientFlags) *cobra.Command {
	return newShowSelectedCmd(cf, "Show one config and its YAML", "config", "/api/v1/configs/")
}

// newShowSelectedCmd is `show NAME` for a named document that a label
// selector assigns to hosts (an agent config, a user-data part): the API
// answers both in the same shape.
func newShowSelectedCmd(cf *clientFlags, short, kind, path string) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var d struct {
				inventory.AgentConfig
				SelectedHosts int `json:"selected_hosts"`
			}
			if err := c.do(cmd.Context(), "GET", path+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), d)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "# %s %s v%d, selector %s (%d hosts), updated %s\n", kind, d.Name, d.Version,
				dash(labelString(d.Selector)), d.SelectedHosts, d.UpdatedAt.Format(time.RFC3339))
			_, err = io.WriteString(w, d.Body)
			return err
		},
	}
}

func newConfigRmCmd(cf *clientFlags) *cobra.Command {
	return newRmCmd(cf, "rm NAME...", "Remove configs; their hosts stop managing those resources (nothing is undone)", "configs")
}
