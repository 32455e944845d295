package dhcp

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// This file is the boot decision of DESIGN.md, and nothing else:
//
//	client says                                  answer
//	PXE ROM, BIOS (93 = 0)                       TFTP undionly.kpxe
//	PXE ROM, UEFI x86-64 (93 = 7 or 9)           TFTP ipxe.efi (per-host snponly.efi)
//	PXE ROM, UEFI arm64 (93 = 11)                TFTP arm64 iPXE, if configured
//	UEFI HTTP Boot (60 HTTPClient, 93 = 16/19)   HTTP URL of ipxe.efi, 60 echoed
//	iPXE (77 "iPXE" or 175 present)              HTTP URL of /boot.ipxe for this MAC

// kind is how a client boots, judged from its options.
type kind int

const (
	kindPlain kind = iota // not netbooting: a lease only
	kindPXE               // a firmware PXE ROM (60 "PXEClient…")
	kindHTTP              // UEFI HTTP Boot (60 "HTTPClient…" or 93 = 16/19)
	kindIPXE              // iPXE itself (77 "iPXE" or 175)
)

// Client architectures of option 93 (RFC 4578, IANA registry).
const (
	archBIOS      = 0
	archEFIx86    = 7
	archEFIBC     = 9
	archEFIARM64  = 11
	archHTTPx86   = 16
	archHTTPARM64 = 19
)

// SNPOnlyLabel is the host label that swaps ipxe.efi for snponly.efi, for
// NICs whose UEFI driver iPXE's own drivers do not handle.
const SNPOnlyLabel = "rackboot.io/ipxe"

// client is what a request says about how its sender boots.
type client struct {
	kind     kind
	arch     uint16
	pxeClass bool   // option 60 starts "PXEClient": echo it, or ROMs ignore the offer
	guid     []byte // option 97, echoed to PXE ROMs that sent it
}

func classify(req *dhcpv4.DHCPv4) client {
	vendor := string(req.Options.Get(dhcpv4.OptionClassIdentifier))
	c := client{arch: archOf(req), pxeClass: strings.HasPrefix(vendor, "PXEClient")}
	c.guid = req.Options.Get(dhcpv4.OptionClientMachineIdentifier)
	switch {
	case isIPXE(req):
		c.kind = kindIPXE
	case strings.HasPrefix(vendor, "HTTPClient") || c.arch == archHTTPx86 || c.arch == archHTTPARM64:
		c.kind = kindHTTP
	case c.pxeClass:
		c.kind = kindPXE
	}
	return c
}

// archOf reads the first architecture of option 93. ROMs that leave it out
// are old BIOS ones.
func archOf(req *dhcpv4.DHCPv4) uint16 {
	b := req.Options.Get(dhcpv4.OptionClientSystemArchitectureType)
	if len(b) < 2 {
		return archBIOS
	}
	return binary.BigEndian.Uint16(b)
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

// boot is what a netbooting client is told to load.
type boot struct {
	file string
	tftp bool // file is on our TFTP server: siaddr, option 43 for PXE ROMs
	http bool // UEFI HTTP Boot: echo option 60 "HTTPClient"
}

// bootFor is the table above. ok is false when the client gets no boot file.
func (s *Server) bootFor(c client, mac string, h *inventory.Host) (b boot, ok bool) {
	if s.NoBootFileForDeployed && h != nil && (h.State == inventory.StateDeployed || h.State == inventory.StateActive) {
		return boot{}, false // it boots from disk; a boot file would start the PXE loop
	}
	switch {
	case c.kind == kindIPXE && s.HTTPBootURL != "":
		return boot{file: s.HTTPBootURL + "/boot.ipxe?mac=" + mac}, true
	case c.kind == kindHTTP && s.HTTPBootURL != "":
		return boot{file: s.HTTPBootURL + "/boot/ipxe/ipxe.efi", http: true}, true
	case c.kind == kindPXE && c.arch == archBIOS:
		return boot{file: "undionly.kpxe", tftp: true}, true
	case c.kind == kindPXE && (c.arch == archEFIx86 || c.arch == archEFIBC):
		return boot{file: efiLoader(h), tftp: true}, true
	case c.kind == kindPXE && c.arch == archEFIARM64 && s.ARM64BootFile != "":
		return boot{file: s.ARM64BootFile, tftp: true}, true
	}
	return boot{}, false
}

func efiLoader(h *inventory.Host) string {
	if h != nil && h.Labels[SNPOnlyLabel] == "snponly.efi" {
		return "snponly.efi"
	}
	return "ipxe.efi"
}
