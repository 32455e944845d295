package dhcp

import (
	"cmp"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
)

// Ports of DHCP and of PXE boot-server discovery.
const (
	serverPort = 67
	clientPort = 68
	pxePort    = 4011
)

// reply starts an answer to p: option 54 and siaddr always (proxy clients
// need both, or they wait on port 4011), the relay's option 82 and the
// client identifier echoed (RFC 3046, RFC 6842).
func (s *Server) reply(p *packet, t dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	req := p.req
	r := &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootReply, HWType: req.HWType, TransactionID: req.TransactionID,
		Flags: req.Flags, GatewayIPAddr: req.GatewayIPAddr, ClientHWAddr: req.ClientHWAddr,
		ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4zero, ServerIPAddr: s.ServerIP.AsSlice(),
		Options: dhcpv4.Options{},
	}
	r.UpdateOption(dhcpv4.OptMessageType(t))
	r.UpdateOption(dhcpv4.OptServerIdentifier(s.ServerIP.AsSlice()))
	copyOption(r, req, dhcpv4.OptionRelayAgentInformation)
	copyOption(r, req, dhcpv4.OptionClientIdentifier)
	if t == dhcpv4.MessageTypeNak {
		r.ServerIPAddr = net.IPv4zero
	}
	return r
}

func copyOption(r, req *dhcpv4.DHCPv4, code dhcpv4.OptionCode) {
	if v := req.Options.Get(code); v != nil {
		r.UpdateOption(dhcpv4.OptGeneric(code, v))
	}
}

// withLease adds the address and its timers: T1 at half, T2 at 7/8.
func (s *Server) withLease(r *dhcpv4.DHCPv4, n *subnet, ip netip.Addr, hostname string) {
	r.YourIPAddr = ip.AsSlice()
	lt := s.leaseTime(n)
	r.UpdateOption(dhcpv4.OptIPAddressLeaseTime(lt))
	r.UpdateOption(dhcpv4.OptRenewTimeValue(lt / 2))
	r.UpdateOption(dhcpv4.OptRebindingTimeValue(lt * 7 / 8))
	s.withNetwork(r, n, hostname)
}

func (s *Server) leaseTime(n *subnet) time.Duration { return cmp.Or(n.LeaseTime, s.LeaseTime) }

// withNetwork adds what a client needs to use the subnet.
func (s *Server) withNetwork(r *dhcpv4.DHCPv4, n *subnet, hostname string) {
	r.UpdateOption(dhcpv4.OptSubnetMask(n.mask()))
	if n.Router.IsValid() {
		r.UpdateOption(dhcpv4.OptRouter(n.Router.AsSlice()))
	}
	if len(n.DNS) > 0 {
		ips := make([]net.IP, len(n.DNS))
		for i, a := range n.DNS {
			ips[i] = a.AsSlice()
		}
		r.UpdateOption(dhcpv4.OptDNS(ips...))
	}
	if n.Domain != "" {
		r.UpdateOption(dhcpv4.OptDomainName(n.Domain))
	}
	if hostname != "" {
		r.UpdateOption(dhcpv4.OptHostName(hostname))
	}
}

// pxeDirect is option 43 with PXE sub-option 6 (discovery control) = 8:
// boot the file given here, skip boot-server discovery on port 4011.
var pxeDirect = []byte{6, 1, 8, 255}

// maxFileField is the BOOTP file field, NUL included.
const maxFileField = 128

// withBoot adds the boot decision. Option 60 is echoed because PXE ROMs
// ignore offers without "PXEClient" and UEFI HTTP Boot ignores offers
// without "HTTPClient".
func (s *Server) withBoot(r *dhcpv4.DHCPv4, p *packet, b boot.Plan) {
	if len(b.File) < maxFileField {
		r.BootFileName = b.File
	}
	if len(b.File) >= maxFileField || p.req.IsOptionRequested(dhcpv4.OptionBootfileName) {
		r.UpdateOption(dhcpv4.OptBootFileName(b.File))
	}
	switch {
	case b.HTTP:
		r.UpdateOption(dhcpv4.OptClassIdentifier("HTTPClient"))
	case p.client.pxeClass:
		r.UpdateOption(dhcpv4.OptClassIdentifier("PXEClient"))
	}
	if p.client.Kind == boot.KindPXE {
		if b.TFTP {
			r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, pxeDirect))
		}
		copyOption(r, p.req, dhcpv4.OptionClientMachineIdentifier)
	}
	s.trace(r, p, b)
}

// trace records the boot file of an ACK in the boot trace, and binds the
// client's address to its MAC so TFTP's fetches from it are its steps.
func (s *Server) trace(r *dhcpv4.DHCPv4, p *packet, b boot.Plan) {
	if s.Trace == nil {
		return
	}
	mac := p.client.MAC
	for _, ip := range []net.IP{r.YourIPAddr, p.req.ClientIPAddr} {
		if a := ipOf(ip); a.IsValid() {
			s.Trace.Bind(a, mac)
		}
	}
	if p.src != nil && p.port == pxePort {
		if a, ok := netip.AddrFromSlice(p.src.IP); ok && !a.IsUnspecified() {
			s.Trace.Bind(a.Unmap(), mac)
		}
	}
	if r.MessageType() == dhcpv4.MessageTypeAck {
		s.Trace.Record(mac, boottrace.StepOffered, b.File, "dhcp")
	}
}

// destination is where RFC 2131 section 4.1 sends a reply: to the relay,
// to the client's own address, or broadcast (we have no raw socket to
// unicast to an address the client does not have yet).
func destination(req *dhcpv4.DHCPv4, t dhcpv4.MessageType) *net.UDPAddr {
	if gi := ipOf(req.GatewayIPAddr); gi.IsValid() {
		return &net.UDPAddr{IP: gi.AsSlice(), Port: serverPort}
	}
	if ci := ipOf(req.ClientIPAddr); ci.IsValid() && t != dhcpv4.MessageTypeNak {
		return &net.UDPAddr{IP: ci.AsSlice(), Port: clientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: clientPort}
}
