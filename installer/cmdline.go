package installer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
)

// ErrNoURL means the kernel command line has no rackboot.url: the installer
// cannot know where to report, so it stays up and says so on the console.
var ErrNoURL = errors.New("no rackboot.url on the kernel command line")

// Cmdline is what the appliance tells the installer on the kernel command
// line.
type Cmdline struct {
	URL  string // httpboot base URL, no trailing slash
	MAC  string // the boot NIC, lowercase colon form; empty means any NIC
	Mode string // inspect or deploy: what the script booted it for, for the record
	// IP and GW, when IP is valid, replace DHCP with a static address (the
	// tests use it; so can an operator on a network without DHCP).
	IP netip.Prefix
	GW netip.Addr
}

// ParseCmdline reads the rackboot.* parameters out of a kernel command line
// (the contents of /proc/cmdline) and ignores every other parameter.
// rackboot.mode is kept for the record only: what to do comes from
// /machine/v1/next.
func ParseCmdline(s string) (Cmdline, error) {
	var c Cmdline
	for _, word := range splitCmdline(s) {
		key, val, _ := strings.Cut(word, "=")
		if err := c.set(key, val); err != nil {
			return Cmdline{}, fmt.Errorf("parse cmdline: %w", err)
		}
	}
	if c.URL == "" {
		return Cmdline{}, fmt.Errorf("parse cmdline: %w", ErrNoURL)
	}
	return c, nil
}

func (c *Cmdline) set(key, val string) error {
	var err error
	switch key {
	case machineapi.CmdlineURL:
		c.URL, err = parseBaseURL(val)
	case machineapi.CmdlineMAC:
		c.MAC, err = normalizeMAC(val)
	case machineapi.CmdlineMode:
		c.Mode = val
	case "rackboot.ip":
		c.IP, err = netip.ParsePrefix(val)
		if err == nil && !c.IP.Addr().Is4() {
			err = fmt.Errorf("rackboot.ip %q is not IPv4", val)
		}
	case "rackboot.gw":
		c.GW, err = netip.ParseAddr(val)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func parseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

func normalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%q is not a 48-bit MAC address", s)
	}
	return hw.String(), nil
}

// splitCmdline splits at spaces outside double quotes and drops the quotes,
// as the kernel does for `key="a value"`.
func splitCmdline(s string) []string {
	var words []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return words
}
