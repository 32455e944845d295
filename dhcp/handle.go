package dhcp

import (
	"context"
	"errors"
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
)

// response is what handle decided: a reply (nil for none) and where it
// goes, and a lease change that must be durable before the reply leaves.
type response struct {
	reply  *dhcpv4.DHCPv4
	to     *net.UDPAddr
	change *inventory.LeaseChange
}

// packet is one parsed request with what the handlers look up about it.
type packet struct {
	req    *dhcpv4.DHCPv4
	mac    string
	client client
	host   *inventory.Host // nil when the MAC is unknown
	src    *net.UDPAddr
	port   int // local port it arrived on: 67, or 4011 in proxy mode
}

// maxHops is RFC 1542's limit on relay agents.
const maxHops = 16

// handle parses raw and decides the answer. It reads only memory; it is
// what FuzzHandle exercises.
func (s *Server) handle(raw []byte, src *net.UDPAddr, port int) (response, bool) {
	p, ok := s.parse(raw, src, port)
	if !ok {
		return response{}, false
	}
	if s.Mode == ModeProxy {
		return s.proxy(p)
	}
	return s.lease(p)
}

// parse drops what is not a DHCP request we could answer.
func (s *Server) parse(raw []byte, src *net.UDPAddr, port int) (*packet, bool) {
	req, err := dhcpv4.FromBytes(raw)
	if err != nil || !wellFormed(req) {
		s.stats.malformed.Add(1)
		return nil, false
	}
	if isProbe(req.ClientHWAddr) || ipOf(req.GatewayIPAddr) == s.ServerIP {
		// Our own probe heard back, or a request relayed by ourselves.
		s.stats.ignored.Add(1)
		return nil, false
	}
	p := &packet{req: req, mac: req.ClientHWAddr.String(), client: classify(req), src: src, port: port}
	h, err := s.Inventory.Host(context.Background(), p.mac)
	if err == nil {
		p.host = &h
	} else if !errors.Is(err, inventory.ErrNotFound) {
		s.log.Warn("dhcp host lookup", "mac", p.mac, "err", err)
	}
	return p, true
}

// wellFormed: a client request from an Ethernet NIC, with a message type,
// through at most maxHops relays. Plain BOOTP is not answered.
func wellFormed(req *dhcpv4.DHCPv4) bool {
	return req.OpCode == dhcpv4.OpcodeBootRequest && req.HWType == iana.HWTypeEthernet &&
		len(req.ClientHWAddr) == 6 && req.HopCount <= maxHops &&
		len(req.Options.Get(dhcpv4.OptionDHCPMessageType)) == 1 &&
		req.MessageType() != dhcpv4.MessageTypeNone
}

// discover queues an unknown netbooting MAC for the inventory.
func (s *Server) discover(p *packet) {
	if p.host == nil && p.client.Kind != boot.KindPlain && !s.Boot.NoDiscovery && s.Enlister != nil {
		s.discovery.note(p.mac)
	}
}
