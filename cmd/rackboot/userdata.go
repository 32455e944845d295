package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// storedUserData is a user-data part as the API answers it.
type storedUserData struct {
	inventory.UserData
	SelectedHosts int `json:"selected_hosts"`
}

func newUserDataCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "user-data", Short: "Store, list, show and remove the cloud-init user-data that labels select"}
	cf.register(cmd)
	cmd.AddCommand(newUserDataApplyCmd(&cf), newUserDataListCmd(&cf), newUserDataShowCmd(&cf),
		newRmCmd(&cf, "rm NAME...", "Remove user-data parts; seeds already rendered keep them", "user-data"))
	return cmd
}

func newUserDataApplyCmd(cf *clientFlags) *cobra.Command {
	var name, selector string
	cmd := &cobra.Command{
		Use:   "apply FILE --selector k=v[,k=v]",
		Short: "Store a user-data part for the hosts its selector matches",
		Long: `Store a cloud-init user-data part (a #cloud-config or a #! script),
creating or replacing it. Every host with all of the selector's labels gets
it in its seed at its next deploy, after the deploy's own --user-data, the
parts ordered by name; cloud-init appends lists (write_files, runcmd,
packages) across parts, and for any other key set twice keeps the earlier
part's value (the host's own, then by name). Without a selector the part selects no host. The part is
checked first (a YAML mistake is reported with its line) and nothing is
stored when it is refused.`,
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
			var u storedUserData
			if err := c.do(cmd.Context(), "PUT", "/api/v1/user-data/"+url.PathEscape(name), map[string]any{"selector": sel, "body": string(body)}, &u); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), u)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user-data %s v%d stored; selects %d hosts\n", u.Name, u.Version, u.SelectedHosts)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the part (default: the file name without its extension)")
	cmd.Flags().StringVar(&selector, "selector", "", "labels a host must all have: key=value,key=value (empty selects no host)")
	return cmd
}

func newUserDataListCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored user-data parts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var ans struct {
				UserData []storedUserData `json:"user_data"`
			}
			if err := c.do(cmd.Context(), "GET", "/api/v1/user-data", nil, &ans); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), ans.UserData)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSELECTOR\tHOSTS\tBYTES\tUPDATED")
			for _, u := range ans.UserData {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", u.Name, u.Version, dash(labelString(u.Selector)), u.SelectedHosts, len(u.Body), u.UpdatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
}

func newUserDataShowCmd(cf *clientFlags) *cobra.Command {
	return newShowSelectedCmd(cf, "Show one user-data part", "user-data", "/api/v1/user-data/")
}
