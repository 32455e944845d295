package dhcp

import (
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
)

// lease answers in full and reservation modes.
func (s *Server) lease(p *packet) (response, bool) {
	if s.Mode == ModeReservation && p.host == nil {
		s.stats.ignored.Add(1) // someone else's client
		return response{}, false
	}
	if s.Mode == ModeFull {
		s.discover(p)
	}
	n := s.subnetFor(ipOf(p.req.GatewayIPAddr))
	if n == nil {
		s.stats.noSubnet.Add(1)
		return response{}, false
	}
	switch p.req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		return s.offer(p, n)
	case dhcpv4.MessageTypeRequest:
		return s.request(p, n)
	case dhcpv4.MessageTypeDecline:
		return s.decline(p, n)
	case dhcpv4.MessageTypeRelease:
		return s.release(p)
	case dhcpv4.MessageTypeInform:
		return s.inform(p, n)
	}
	s.stats.ignored.Add(1)
	return response{}, false
}

// offer holds an address for the client (in memory only) and offers it.
func (s *Server) offer(p *packet, n *subnet) (response, bool) {
	now := time.Now()
	s.leases.mu.Lock()
	ip, ok := s.address(p, n, ipOf(p.req.RequestedIPAddress()), now)
	var l *lease
	if ok {
		l = s.leases.hold(ip, p.mac, s.hostname(p), offered, now.Add(s.OfferHold))
	}
	s.leases.mu.Unlock()
	if !ok {
		s.dry(n, now)
		return response{}, false
	}
	r := s.reply(p, dhcpv4.MessageTypeOffer)
	s.withLease(r, n, ip, l.hostname)
	s.withBootIfAny(r, p)
	return response{reply: r, to: destination(p.req, dhcpv4.MessageTypeOffer)}, true
}

// address chooses mac's address in n: its reservation, else from the pool.
// Caller holds s.leases.mu.
func (s *Server) address(p *packet, n *subnet, want netip.Addr, now time.Time) (netip.Addr, bool) {
	if ip, ok := s.reservation(p, n, now); ok {
		return ip, true
	}
	return s.pick(n, p.mac, want, now)
}

// reservation is the host's inventory IP, when it lies in n and no other
// client holds it (a dynamic lease from before the reservation keeps its
// address until it expires; the host gets a pool address meanwhile).
func (s *Server) reservation(p *packet, n *subnet, now time.Time) (netip.Addr, bool) {
	if p.host == nil || p.host.IP == "" {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(p.host.IP)
	if err != nil || !n.Prefix.Contains(ip) {
		return netip.Addr{}, false
	}
	if !s.leases.usable(ip, p.mac, now) {
		if s.limiter.allow("reserved-held:"+ip.String(), now) {
			s.log.Warn("dhcp reserved address is leased to another client", "ip", ip, "reserved_for", p.mac)
		}
		return netip.Addr{}, false
	}
	return ip, true
}

// request binds the requested address if the client may have it; the ACK
// leaves once the lease is committed.
func (s *Server) request(p *packet, n *subnet) (response, bool) {
	if sid := ipOf(p.req.ServerIdentifier()); sid.IsValid() && sid != s.ServerIP {
		s.leases.mu.Lock()
		s.leases.dropOffer(p.mac) // it chose another server's offer
		s.leases.mu.Unlock()
		s.stats.ignored.Add(1)
		return response{}, false
	}
	want := ipOf(p.req.RequestedIPAddress())
	if !want.IsValid() {
		want = ipOf(p.req.ClientIPAddr) // renewing or rebinding
	}
	now := time.Now()
	s.leases.mu.Lock()
	ok := want.IsValid() && s.bindable(p, n, want, now)
	var l *lease
	if ok {
		l = s.leases.hold(want, p.mac, s.hostname(p), bound, now.Add(s.leaseTime(n)))
	}
	s.leases.mu.Unlock()
	if !ok {
		return s.nak(p)
	}
	r := s.reply(p, dhcpv4.MessageTypeAck)
	s.withLease(r, n, want, l.hostname)
	s.withBootIfAny(r, p)
	change := &inventory.LeaseChange{Put: []inventory.Lease{l.stored()}}
	return response{reply: r, to: destination(p.req, dhcpv4.MessageTypeAck), change: change}, true
}

// bindable: the client's reservation if it has one, else any address of
// n's pool it may have. Caller holds s.leases.mu.
func (s *Server) bindable(p *packet, n *subnet, want netip.Addr, now time.Time) bool {
	if r, ok := s.reservation(p, n, now); ok {
		return want == r
	}
	return s.assignable(n, want, p.mac, now)
}

// nak refuses a request, except to netbooting clients: some firmware
// aborts to disk on a NAK, so they get silence and retry from DISCOVER.
// In reservation mode another server may own the segment: silence too.
func (s *Server) nak(p *packet) (response, bool) {
	if s.Mode != ModeFull || p.client.Kind != boot.KindPlain {
		s.stats.ignored.Add(1)
		return response{}, false
	}
	r := s.reply(p, dhcpv4.MessageTypeNak)
	if ipOf(p.req.GatewayIPAddr).IsValid() {
		r.SetBroadcast()
	}
	return response{reply: r, to: destination(p.req, dhcpv4.MessageTypeNak)}, true
}

// decline quarantines an address the client found in use, within the
// bounds of declines; beyond them it frees the address, as a RELEASE.
func (s *Server) decline(p *packet, n *subnet) (response, bool) {
	ip := ipOf(p.req.RequestedIPAddress())
	now := time.Now()
	until := now.Add(s.Quarantine)
	if !n.Prefix.Contains(ip) {
		n = s.subnetOf(ip)
	}
	s.leases.mu.Lock()
	ok := s.leases.forget(ip, p.mac)
	admitted, why := false, ""
	var q *lease
	if ok {
		if admitted, why = s.declined.admit(p.mac, n, now, until); admitted {
			q = s.leases.hold(ip, "", "", declined, until)
		} else {
			s.refill()
		}
	}
	s.leases.mu.Unlock()
	switch {
	case !ok:
		s.stats.ignored.Add(1)
		return response{}, false
	case !admitted:
		s.stats.declinesRefused.Add(1)
		if s.limiter.allow("decline:"+why, now) {
			s.log.Warn("dhcp DECLINE not honoured: too many quarantines "+why+"; the address is free again", "ip", ip, "mac", p.mac)
		}
		return response{change: &inventory.LeaseChange{Delete: []netip.Addr{ip}}}, true
	}
	s.stats.declines.Add(1)
	s.log.Warn("dhcp address declined: in use by someone else; quarantined", "ip", ip, "mac", p.mac, "for", s.Quarantine)
	return response{change: &inventory.LeaseChange{Put: []inventory.Lease{q.stored()}}}, true
}

// subnetOf is the subnet whose prefix holds ip, or nil.
func (s *Server) subnetOf(ip netip.Addr) *subnet {
	for _, n := range s.subnets {
		if n.Prefix.Contains(ip) {
			return n
		}
	}
	return nil
}

// release frees the client's address.
func (s *Server) release(p *packet) (response, bool) {
	ip := ipOf(p.req.ClientIPAddr)
	s.leases.mu.Lock()
	ok := s.leases.forget(ip, p.mac)
	if ok {
		s.refill()
	}
	s.leases.mu.Unlock()
	if !ok {
		s.stats.ignored.Add(1)
		return response{}, false
	}
	s.stats.releases.Add(1)
	return response{change: &inventory.LeaseChange{Delete: []netip.Addr{ip}}}, true
}

// inform gives a client with its own address the subnet's settings.
func (s *Server) inform(p *packet, n *subnet) (response, bool) {
	if !ipOf(p.req.ClientIPAddr).IsValid() {
		s.stats.malformed.Add(1)
		return response{}, false
	}
	r := s.reply(p, dhcpv4.MessageTypeAck)
	s.withNetwork(r, n, "")
	s.withBootIfAny(r, p)
	s.stats.informs.Add(1)
	return response{reply: r, to: destination(p.req, dhcpv4.MessageTypeAck)}, true
}

func (s *Server) withBootIfAny(r *dhcpv4.DHCPv4, p *packet) {
	if b, ok := s.bootFor(p); ok {
		s.withBoot(r, p, b)
	}
}

// hostname is the inventory's name for the host, else the one the client
// asked for.
func (s *Server) hostname(p *packet) string {
	if p.host != nil && p.host.Hostname != "" {
		return p.host.Hostname
	}
	return p.req.HostName()
}

// dry logs a pool that has run out, once per LogInterval.
func (s *Server) dry(n *subnet, now time.Time) {
	s.stats.poolExhausted.Add(1)
	if s.limiter.allow("dry:"+n.Prefix.String(), now) {
		s.log.Warn("dhcp pool exhausted", "subnet", n.Prefix, "size", n.size())
	}
}
