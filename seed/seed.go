// Package seed renders a host's cloud-init NoCloud seed: the meta-data and
// user-data files the installer writes next to the OS it deployed, which
// the OS reads on its first boot to take its hostname, its SSH keys and the
// rackboot agent with its token.
//
// It renders text from a Config and nothing more: no store, no disk (the
// installer writes the files; images/testimage reads them).
package seed

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// Config is what a host's seed says.
type Config struct {
	InstanceID string   // meta-data instance-id; "" means "rackboot-" + MAC without colons
	Hostname   string   // meta-data local-hostname and cloud-config hostname
	SSHKeys    []string // cloud-config ssh_authorized_keys
	URL        string   // the appliance's machine-facing base URL
	Token      string   // the host's agent token
	MAC        string   // the host's boot NIC, lowercase, colon-separated
	Agent      string   // optional URL of a rackboot binary to run as the agent
}

// Render returns the seed's files, after Validate.
func Render(c Config) (machineapi.Seed, error) {
	if err := c.Validate(); err != nil {
		return machineapi.Seed{}, err
	}
	install, err := agentUserData(c)
	if err != nil {
		return machineapi.Seed{}, err
	}
	user := string(c.userData()) + strings.TrimPrefix(install, "#cloud-config\n")
	return machineapi.Seed{MetaData: string(c.metaData()), UserData: user}, nil
}

// Validate refuses values the seed's line format cannot carry: empty
// required fields, line breaks, quotes and backslashes.
func (c Config) Validate() error {
	if c.Hostname == "" || c.URL == "" || c.Token == "" || c.MAC == "" {
		return errors.New("seed: hostname, url, token and mac are required")
	}
	check := func(name, v string) error {
		if err := CheckValue(v); err != nil {
			return fmt.Errorf("seed: %s %q: %w", name, v, err)
		}
		return nil
	}
	for name, v := range map[string]string{"instance-id": c.InstanceID, "hostname": c.Hostname,
		"url": c.URL, "token": c.Token, "mac": c.MAC, "agent": c.Agent} {
		if err := check(name, v); err != nil {
			return err
		}
	}
	for _, k := range c.SSHKeys {
		if err := check("ssh key", k); err != nil {
			return err
		}
	}
	if c.MAC != strings.ToLower(c.MAC) {
		return fmt.Errorf("seed: mac %q: want lowercase", c.MAC)
	}
	return nil
}

// CheckValue reports whether v can be a seed value: the test image's line
// parser (images/testimage/README.md, "The seed") takes no escapes, so no
// quotes, backslashes, tabs, line breaks or outer spaces.
func CheckValue(v string) error {
	if strings.ContainsAny(v, "\"\\\r\n\t") || strings.TrimSpace(v) != v {
		return errors.New("no quotes, backslashes, tabs, line breaks or outer spaces")
	}
	return nil
}

func (c Config) instanceID() string {
	if c.InstanceID != "" {
		return c.InstanceID
	}
	return "rackboot-" + strings.ReplaceAll(c.MAC, ":", "")
}

// metaData is the NoCloud meta-data file.
func (c Config) metaData() []byte {
	return fmt.Appendf(nil, "instance-id: %s\nlocal-hostname: %s\n", c.instanceID(), c.Hostname)
}

// userData is the first part of the user-data file: a cloud-config whose
// rackboot mapping the test image's init reads.
func (c Config) userData() []byte {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "hostname: %s\n", c.Hostname)
	if len(c.SSHKeys) > 0 {
		b.WriteString("ssh_authorized_keys:\n")
		for _, k := range c.SSHKeys {
			fmt.Fprintf(&b, "  - \"%s\"\n", k)
		}
	}
	b.WriteString("rackboot:\n")
	fmt.Fprintf(&b, "  url: \"%s\"\n", c.URL)
	fmt.Fprintf(&b, "  token: \"%s\"\n", c.Token)
	fmt.Fprintf(&b, "  mac: \"%s\"\n", c.MAC)
	if c.Agent != "" {
		fmt.Fprintf(&b, "  agent: \"%s\"\n", c.Agent)
	}
	return []byte(b.String())
}
