package dhcp

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/boot"
)

// client is what a request says about how its sender boots: the part the
// boot decision reads, and the options a reply echoes.
type client struct {
	boot.Client
	pxeClass bool   // option 60 starts "PXEClient": echo it, or ROMs ignore the offer
	guid     []byte // option 97, echoed to PXE ROMs that sent it
}

func classify(req *dhcpv4.DHCPv4) client {
	vendor := string(req.Options.Get(dhcpv4.OptionClassIdentifier))
	c := client{Client: boot.Client{MAC: req.ClientHWAddr.String(), Arch: archOf(req)}, pxeClass: strings.HasPrefix(vendor, "PXEClient")}
	c.guid = req.Options.Get(dhcpv4.OptionClientMachineIdentifier)
	switch {
	case isIPXE(req):
		c.Kind = boot.KindIPXE
	case strings.HasPrefix(vendor, "HTTPClient") || c.Arch == boot.ArchHTTPx86 || c.Arch == boot.ArchHTTPARM64:
		c.Kind = boot.KindHTTP
	case c.pxeClass:
		c.Kind = boot.KindPXE
	}
	return c
}

// archOf reads the first architecture of option 93. ROMs that leave it out
// are old BIOS ones.
func archOf(req *dhcpv4.DHCPv4) boot.Arch {
	b := req.Options.Get(dhcpv4.OptionClientSystemArchitectureType)
	if len(b) < 2 {
		return boot.ArchBIOS
	}
	return boot.Arch(binary.BigEndian.Uint16(b))
}

// isIPXE: a stock iPXE sends user class "iPXE" (raw, not RFC 3004 framed)
// and its feature option 175.
func isIPXE(req *dhcpv4.DHCPv4) bool {
	if req.Options.Has(dhcpv4.GenericOptionCode(175)) {
		return true
	}
	uc := req.Options.Get(dhcpv4.OptionUserClassInformation)
	return bytes.Equal(uc, []byte("iPXE")) || bytes.Equal(uc, []byte("\x04iPXE"))
}

// bootFor asks the boot decision about p; ok is false when the client
// gets no boot file.
func (s *Server) bootFor(p *packet) (boot.Plan, bool) {
	plan := boot.Decide(p.client.Client, p.host, s.Boot)
	return plan, plan.Action == boot.Loader || plan.Action == boot.Script
}
