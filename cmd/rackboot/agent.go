package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	agentrun "github.com/rackboot/rackboot/agent/run"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// agentFlags is everything `rackboot agent` can be told.
type agentFlags struct {
	server, token, tokenFile, mac string
	logLevel                      slog.Level
	logFormat                     string
	quiet                         time.Duration
}

func newAgentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Keep this installed host converged with the configs the appliance holds for it",
		Long: `Run the config agent: long-poll the appliance's machine-facing server for
this host's graph, keep every resource in it converged, and report status.

The token is the host's agent token (POST /api/v1/hosts/{mac}/agent-token, or
the one the installer put in the seed). --mac defaults to the MAC of the
interface that reaches --server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := f.agent(cmd)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "machine-facing URL of the appliance (its --boot-url), e.g. http://10.0.0.1:8081")
	fl.StringVar(&f.token, "token", "", "the host's agent token")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the agent token (keeps it off the command line)")
	fl.StringVar(&f.mac, "mac", "", "the host's MAC (default: of the interface that reaches --server)")
	fl.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text, json")
	fl.DurationVar(&f.quiet, "quiet", 0, "how long every resource must stay settled before the host counts as converged (default 500ms)")
	cmd.MarkFlagRequired("server")
	return cmd
}

func (f *agentFlags) agent(cmd *cobra.Command) (*agentrun.Agent, error) {
	log, err := newLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http(s)://HOST:PORT", f.server)
	}
	token, err := f.readToken()
	if err != nil {
		return nil, err
	}
	mac := f.mac
	if mac == "" {
		if mac, err = macTowards(u); err != nil {
			return nil, err
		}
	}
	if mac, err = inventory.NormalizeMAC(mac); err != nil {
		return nil, fmt.Errorf("--mac: %w", err)
	}
	c := &client.Client{URL: f.server, MAC: mac, Token: token, UserAgent: "rackboot-agent/" + version}
	log.Info("rackboot agent starting", "version", version, "server", f.server, "mac", mac)
	return &agentrun.Agent{Client: c, Logger: log, Quiet: f.quiet}, nil
}

func (f *agentFlags) readToken() (string, error) {
	tok, err := f.tokenText()
	if err == nil && strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) {
		err = errors.New("the agent token holds a space, a line break or a control character")
	}
	return tok, err
}

func (f *agentFlags) tokenText() (string, error) {
	switch {
	case f.token != "" && f.tokenFile != "":
		return "", errors.New("give --token or --token-file, not both")
	case f.token != "":
		return f.token, nil
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", errors.New("no agent token: pass --token or --token-file")
}

// macTowards returns the MAC of the interface this host reaches u through:
// the NIC the appliance knows it by, on a host with several. Dialling UDP
// sends nothing; it only asks the kernel for the route.
func macTowards(u *url.URL) (string, error) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	conn, err := net.Dial("udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", fmt.Errorf("find this host's MAC (pass --mac): %w", err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).IP
	conn.Close()
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("find this host's MAC (pass --mac): %w", err)
	}
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(local) && len(ifc.HardwareAddr) == 6 {
				return ifc.HardwareAddr.String(), nil
			}
		}
	}
	return "", fmt.Errorf("find this host's MAC: no interface with a MAC holds %s, the address that reaches %s (pass --mac)", local, u.Host)
}

func newHostAgentTokenCmd(cf *clientFlags) *cobra.Command {
	var revoke bool
	cmd := &cobra.Command{
		Use:   "agent-token MAC",
		Short: "Show a host's agent token, for `rackboot agent --token` started by hand (--revoke: a new one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var ans struct {
				MAC     string `json:"mac"`
				Token   string `json:"token"`
				Revoked bool   `json:"revoked_earlier"`
			}
			path := "/api/v1/hosts/" + url.PathEscape(args[0]) + "/agent-token"
			if err := c.do(cmd.Context(), "POST", path, map[string]bool{"revoke": revoke}, &ans); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(cmd.OutOrStdout(), ans)
			}
			fmt.Fprintln(cmd.OutOrStdout(), ans.Token)
			how := "good until the host is released, deployed again or its tokens revoked"
			if ans.Revoked {
				how = "every earlier one revoked; " + how
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "agent token for %s: %s\n", ans.MAC, how)
			return nil
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "make a new token and revoke every earlier one (the one in the host's seed included)")
	return cmd
}

// agentRows adds the agent's last report to `host show`: the summary, the
// graph it runs, and its resources (only those not ok when there are many).
func agentRows(row func(k, v string), a *inventory.AgentStatus) {
	if a == nil {
		return
	}
	row("Agent", strings.TrimSpace(fmt.Sprintf("%s at %s %s", a.Status, a.LastCheckIn.Format(time.RFC3339), a.Message)))
	row("Agent graph", a.ConfigVersion)
	if a.ConfigError != "" {
		row("Agent error", "newest graph not applied: "+a.ConfigError)
	}
	for _, r := range a.Resources {
		if r.State == "ok" && len(a.Resources) > 20 {
			continue
		}
		v := r.Resource + " " + r.State
		if r.Error != "" {
			v += ": " + r.Error
		}
		row("  resource", v)
	}
}

// renderRows adds to `host show` why the host's configs do not render for
// it, if they do not: the host keeps its last good graph meanwhile.
func renderRows(row func(k, v string), f *inventory.RenderFailure) {
	if f == nil {
		return
	}
	kept := "no graph rendered yet"
	if f.Graph != "" {
		kept = "keeps graph " + f.Graph
	}
	row("Render error", fmt.Sprintf("config %s: %s (since %s; %s)", f.Config, f.Error, f.Since.Format(time.RFC3339), kept))
}
