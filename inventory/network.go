package inventory

import (
	"net/netip"
	"slices"
)

// HostNetwork is a static address for a host's boot NIC on its installed
// OS, which its seed's network-config sets; without one the installed OS
// asks DHCP on that NIC.
type HostNetwork struct {
	Address string   `json:"address"`           // CIDR, e.g. 10.0.0.5/24
	Gateway string   `json:"gateway,omitempty"` // default route
	DNS     []string `json:"dns,omitempty"`     // name servers
}

func (n *HostNetwork) validate() error {
	if n == nil {
		return nil
	}
	if _, err := netip.ParsePrefix(n.Address); err != nil {
		return invalid("network.address", "%q is not an address with a prefix length (10.0.0.5/24)", n.Address)
	}
	if n.Gateway != "" {
		if _, err := netip.ParseAddr(n.Gateway); err != nil {
			return invalid("network.gateway", "%q is not an IP address", n.Gateway)
		}
	}
	for _, d := range n.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return invalid("network.dns", "%q is not an IP address", d)
		}
	}
	return nil
}

func (n *HostNetwork) clone() *HostNetwork {
	if n == nil {
		return nil
	}
	c := *n
	c.DNS = slices.Clone(n.DNS)
	return &c
}
