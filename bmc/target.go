package bmc

import (
	"net"
	"strconv"
	"strings"
)

// Protocol is how a BMC is spoken to.
type Protocol string

// The protocols a Target can use.
const (
	Redfish Protocol = "redfish"
	IPMI    Protocol = "ipmi"
)

// Target is one BMC and its credentials.
type Target struct {
	// Address is a host name or IP. For Redfish it may start with
	// "http://" for a BMC without TLS (the lab's virtual BMC); the
	// default is https.
	Address  string
	Protocol Protocol
	// Port defaults to 443 for Redfish and 623 for IPMI.
	Port     int
	Username string
	Password string
	// UEFI asks for UEFI rather than legacy boot with boot overrides.
	UEFI bool
}

func (t Target) port() int {
	switch {
	case t.Port != 0:
		return t.Port
	case t.Protocol == IPMI:
		return 623
	default:
		return 443
	}
}

// host is Address without any scheme.
func (t Target) host() string {
	h := strings.TrimPrefix(strings.TrimPrefix(t.Address, "https://"), "http://")
	return strings.TrimSuffix(h, "/")
}

// String names the BMC in errors and logs: "host:port".
func (t Target) String() string {
	return net.JoinHostPort(t.host(), strconv.Itoa(t.port()))
}

// BootDevice is the device a machine boots from next.
type BootDevice string

// The boot devices rackboot uses: the network (to reach the appliance) or
// the local disk (once deployed).
const (
	BootPXE  BootDevice = "pxe"
	BootDisk BootDevice = "disk"
)

// PowerState is a machine's power as its BMC reports it.
type PowerState string

// Power states. Unknown covers transitions (PoweringOn, PoweringOff) and
// anything a BMC says that is neither on nor off.
const (
	PowerOn      PowerState = "on"
	PowerOff     PowerState = "off"
	PowerUnknown PowerState = "unknown"
)

// parsePowerState reads Redfish ("On", "PoweringOff") and ipmitool
// ("Chassis Power is on") answers.
func parsePowerState(s string) PowerState {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "chassis power is ")
	switch s {
	case "on":
		return PowerOn
	case "off":
		return PowerOff
	}
	return PowerUnknown
}
