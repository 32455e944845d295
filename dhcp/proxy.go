package dhcp

import (
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// proxy answers netbooting clients with boot information only (no
// address), beside the DHCP server that owns the segment: an OFFER to a
// DISCOVER on port 67, an ACK to a REQUEST sent to us on port 4011 (or on
// 67 naming us). Everything else is the other server's business.
func (s *Server) proxy(p *packet) (response, bool) {
	b, ok := s.bootFor(p) // never ok for a plain client
	if !ok {
		s.stats.ignored.Add(1)
		return response{}, false
	}
	s.discover(p)
	t := p.req.MessageType()
	switch {
	case t == dhcpv4.MessageTypeDiscover && p.port != pxePort:
		t = dhcpv4.MessageTypeOffer
	case t == dhcpv4.MessageTypeRequest && (p.port == pxePort || ipOf(p.req.ServerIdentifier()) == s.ServerIP):
		t = dhcpv4.MessageTypeAck
	default:
		s.stats.ignored.Add(1)
		return response{}, false
	}
	r := s.reply(p, t)
	s.withBoot(r, p, b)
	return response{reply: r, to: s.proxyDestination(p, t)}, true
}

// proxyDestination: on port 4011 the client has its address and listens
// where it sent from.
func (s *Server) proxyDestination(p *packet, t dhcpv4.MessageType) *net.UDPAddr {
	if p.port == pxePort && p.src != nil && !p.src.IP.IsUnspecified() {
		return p.src
	}
	return destination(p.req, t)
}
