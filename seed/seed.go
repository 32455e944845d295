// Package seed renders a host's cloud-init seed in cloud-init's own
// formats, which the installer writes into a FAT filesystem labelled
// CIDATA on the host's disk and any image's cloud-init finds on its first
// boot with no kernel argument (the NoCloud datasource):
//
//   - meta-data: the instance-id (new for every deploy, so cloud-init runs
//     its once-per-instance modules again), local-hostname and the SSH
//     public keys (public-keys, which cloud-init gives the image's default
//     user);
//   - network-config: version 2, DHCP on the NIC with the host's MAC, or
//     the inventory's static address, gateway and DNS servers;
//   - user-data: a MIME multipart of the operator's parts (the host's own,
//     then the label-selected ones), merged by cloud-init with lists
//     appended (the host's items first) and, for any other key both set,
//     the earlier part winning, so the host's own value wins over its
//     labels'; then rackboot's part, a shell script
//     that installs and starts the config agent with the host's token;
//   - rackboot.seed: the same facts as plain key=value lines for images
//     without cloud-init (images/testimage), which cloud-init ignores.
//
// It renders text from a Config and checks what operators send (SSH keys,
// user-data parts); it stores nothing and writes no disk.
package seed

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// ErrInvalid is wrapped by every refusal of a Config or a part.
var ErrInvalid = errors.New("invalid seed")

// Config is what a host's seed says.
type Config struct {
	// InstanceID is meta-data's instance-id; required, and new for each
	// deploy.
	InstanceID string
	// Hostname is meta-data's local-hostname.
	Hostname string
	// MAC is the host's boot NIC, lowercase and colon-separated.
	MAC string
	// SSHKeys are authorized_keys lines (options and comments allowed).
	SSHKeys []string
	// Network is a static configuration; nil means DHCP on MAC.
	Network *Network
	// UserData are the operator's parts, in the order cloud-init merges
	// them (the host's own first, then its labels').
	UserData []Part
	// URL is the appliance's machine-facing base URL; Token the host's
	// agent token; Agent the URL of the agent binary to fetch when the
	// image has none.
	URL, Token, Agent string
}

// Render checks c and returns the seed's files.
func Render(c Config) (machineapi.Seed, error) {
	if err := c.Validate(); err != nil {
		return machineapi.Seed{}, err
	}
	meta, err := metaData(c)
	if err != nil {
		return machineapi.Seed{}, err
	}
	netcfg, err := networkConfig(c)
	if err != nil {
		return machineapi.Seed{}, err
	}
	script, err := agentScript(c)
	if err != nil {
		return machineapi.Seed{}, err
	}
	user, err := userData(c.UserData, script)
	if err != nil {
		return machineapi.Seed{}, err
	}
	return machineapi.Seed{MetaData: meta, UserData: user, NetworkConfig: netcfg, Rackboot: rackbootFile(c)}, nil
}

// Validate refuses a Config that cannot make a working seed, naming the
// field.
func (c Config) Validate() error {
	switch {
	case c.InstanceID == "" || strings.ContainsAny(c.InstanceID, " \t\r\n/\x00"):
		return fmt.Errorf("%w: instance-id %q: want a non-empty word", ErrInvalid, c.InstanceID)
	case c.Hostname == "" || strings.ContainsAny(c.Hostname, " \t\r\n\x00"):
		return fmt.Errorf("%w: hostname %q", ErrInvalid, c.Hostname)
	}
	if err := checkAgent(c); err != nil {
		return err
	}
	for i, k := range c.SSHKeys {
		if err := CheckSSHKey(k); err != nil {
			return fmt.Errorf("ssh_keys[%d]: %w", i, err)
		}
	}
	for _, p := range c.UserData {
		if err := p.Check(); err != nil {
			return err
		}
	}
	if c.Network != nil {
		return c.Network.Validate()
	}
	return nil
}

// checkAgent refuses values that would break out of the script and unit
// they are written into; none of them has a reason to hold such bytes.
func checkAgent(c Config) error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: URL %q: want http(s)://HOST:PORT", ErrInvalid, c.URL)
	}
	if c.MAC != strings.ToLower(c.MAC) {
		return fmt.Errorf("%w: mac %q: want lowercase", ErrInvalid, c.MAC)
	}
	for name, v := range map[string]string{"URL": c.URL, "MAC": c.MAC, "token": c.Token, "agent": c.Agent} {
		if name == "token" && v == TokenPlaceholder {
			continue
		}
		if (v == "" && name != "agent") || strings.ContainsAny(v, "\n\r'\"\\ $`%\x00") {
			return fmt.Errorf("%w: %s %q is empty or holds a character it must not", ErrInvalid, name, v)
		}
	}
	return nil
}

// rackbootFile is the seed for images without cloud-init: one key=value a
// line, the value running to the line's end (an SSH key may hold quotes,
// backslashes and spaces; none holds a line break).
func rackbootFile(c Config) string {
	var b strings.Builder
	b.WriteString("# rackboot seed for images without cloud-init; cloud-init reads meta-data, user-data and network-config.\n")
	for _, kv := range [][2]string{{"hostname", c.Hostname}, {"instance-id", c.InstanceID}, {"url", strings.TrimRight(c.URL, "/")},
		{"token", c.Token}, {"mac", c.MAC}, {"agent", c.Agent}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
	}
	for _, k := range c.SSHKeys {
		fmt.Fprintf(&b, "ssh_key=%s\n", k)
	}
	return b.String()
}

// TokenPlaceholder stands in a rendered seed where the agent token goes,
// so that a seed kept at rest holds no credential: WithToken writes the
// token in as the seed is handed out. Its NUL bytes cannot come from any
// value Render takes (every one is checked), so nothing else is replaced.
const TokenPlaceholder = "\x00rackboot-agent-token\x00"

// WithToken returns sd with token in place of TokenPlaceholder; a seed
// without the placeholder, or a token that would break out of the script
// it lands in, is an error.
func WithToken(sd machineapi.Seed, token string) (machineapi.Seed, error) {
	if token == "" || strings.ContainsAny(token, "\n\r'\"\\ $`%\x00") {
		return machineapi.Seed{}, fmt.Errorf("%w: agent token is empty or holds a character it must not", ErrInvalid)
	}
	if !strings.Contains(sd.UserData, TokenPlaceholder) && !strings.Contains(sd.Rackboot, TokenPlaceholder) {
		return machineapi.Seed{}, fmt.Errorf("%w: the seed has no place for the agent token", ErrInvalid)
	}
	sd.UserData = strings.ReplaceAll(sd.UserData, TokenPlaceholder, token)
	sd.Rackboot = strings.ReplaceAll(sd.Rackboot, TokenPlaceholder, token)
	return sd, nil
}
