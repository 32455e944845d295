package seed

import (
	"fmt"
	"net/netip"

	"gopkg.in/yaml.v3"
)

// Network is a static address for the boot NIC.
type Network struct {
	Address string   // CIDR, e.g. 10.0.0.5/24
	Gateway string   // optional
	DNS     []string // optional name servers
}

// Validate names the first field that is not an address.
func (n *Network) Validate() error {
	if _, err := netip.ParsePrefix(n.Address); err != nil {
		return fmt.Errorf("%w: network address %q: want CIDR (10.0.0.5/24)", ErrInvalid, n.Address)
	}
	if n.Gateway != "" {
		if _, err := netip.ParseAddr(n.Gateway); err != nil {
			return fmt.Errorf("%w: network gateway %q: not an address", ErrInvalid, n.Gateway)
		}
	}
	for _, d := range n.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("%w: network dns %q: not an address", ErrInvalid, d)
		}
	}
	return nil
}

// The network-config file, version 2 (netplan's format, which cloud-init
// renders for every distribution). The NIC is matched by MAC, not named:
// its name on the installed OS (eth0, ens3, enp1s0) is the OS's business.
type netConfig struct {
	Version   int                 `yaml:"version"`
	Ethernets map[string]ethernet `yaml:"ethernets"`
}

type ethernet struct {
	Match          map[string]string `yaml:"match"`
	DHCP4          bool              `yaml:"dhcp4,omitempty"`
	DHCPIdentifier string            `yaml:"dhcp-identifier,omitempty"`
	Addresses      []string          `yaml:"addresses,omitempty"`
	Routes         []route           `yaml:"routes,omitempty"`
	Nameservers    *nameservers      `yaml:"nameservers,omitempty"`
}

type route struct {
	To  string `yaml:"to"`
	Via string `yaml:"via"`
}

type nameservers struct {
	Addresses []string `yaml:"addresses"`
}

// networkConfig is DHCP on the boot NIC (identified to the DHCP server by
// its MAC, as the appliance's reservations are) or its static address.
func networkConfig(c Config) (string, error) {
	e := ethernet{Match: map[string]string{"macaddress": c.MAC}}
	if n := c.Network; n == nil {
		e.DHCP4, e.DHCPIdentifier = true, "mac"
	} else {
		e.Addresses = []string{n.Address}
		if n.Gateway != "" {
			to := "0.0.0.0/0"
			if a, _ := netip.ParseAddr(n.Gateway); a.Is6() {
				to = "::/0"
			}
			e.Routes = []route{{To: to, Via: n.Gateway}}
		}
		if len(n.DNS) > 0 {
			e.Nameservers = &nameservers{Addresses: n.DNS}
		}
	}
	b, err := yaml.Marshal(netConfig{Version: 2, Ethernets: map[string]ethernet{"boot": e}})
	if err != nil {
		return "", fmt.Errorf("network-config: %w", err)
	}
	return string(b), nil
}
