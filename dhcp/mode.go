package dhcp

import "fmt"

// Mode says how much of DHCP rackboot answers.
type Mode string

// Modes, as written in flags and config files.
const (
	// ModeProxy answers only netbooting clients, with boot information and
	// no address (ProxyDHCP, ports 67 and 4011), beside another DHCP server.
	ModeProxy Mode = "proxy"
	// ModeFull hands out addresses from the pools and the inventory's
	// reservations to every client, with boot information to netbooting ones.
	ModeFull Mode = "full"
	// ModeReservation answers only MACs the inventory knows.
	ModeReservation Mode = "reservation"
	// ModeOff disables DHCP.
	ModeOff Mode = "off"
)

// ParseMode checks s against the known modes.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeProxy, ModeFull, ModeReservation, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("dhcp mode %q: want full, proxy, reservation or off", s)
}

// leases reports whether the mode hands out addresses.
func (m Mode) leases() bool { return m == ModeFull || m == ModeReservation }
