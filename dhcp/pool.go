package dhcp

import (
	"net/netip"
	"time"
)

// dryBackoff is how long a pool found full is not scanned again (unless an
// address is released), so a storm of DISCOVERs on a full pool costs one
// scan a second, not one per packet.
const dryBackoff = time.Second

// pick finds mac an address in n's pool: the one it had, the one it asks
// for, or the next free one after the last handed out. Caller holds
// s.leases.mu.
func (s *Server) pick(n *subnet, mac string, want netip.Addr, now time.Time) (netip.Addr, bool) {
	if cur := s.leases.current(mac); cur != nil && s.assignable(n, cur.ip, mac, now) {
		return cur.ip, true
	}
	if want.IsValid() && s.assignable(n, want, mac, now) {
		return want, true
	}
	return s.scan(n, mac, now)
}

// assignable reports whether ip, in n's pool, may go to mac.
func (s *Server) assignable(n *subnet, ip netip.Addr, mac string, now time.Time) bool {
	return n.inPool(ip) && ip != s.ServerIP && ip != n.Router &&
		s.leases.usable(ip, mac, now) && !s.reserved.forOther(ip, mac)
}

// scan walks the pool from where the last scan stopped, so consecutive
// clients get consecutive addresses and a scan is short while the pool has
// room.
func (s *Server) scan(n *subnet, mac string, now time.Time) (netip.Addr, bool) {
	if now.Before(n.dryUntil) {
		return netip.Addr{}, false
	}
	for range n.size() {
		v := n.next
		n.next++
		if n.next > n.last || n.next < n.first {
			n.next = n.first
		}
		if ip := addr(v); s.assignable(n, ip, mac, now) {
			return ip, true
		}
	}
	n.dryUntil = now.Add(dryBackoff)
	return netip.Addr{}, false
}

// refill ends every pool's dry backoff: an address came free.
func (s *Server) refill() {
	for _, n := range s.subnets {
		n.dryUntil = time.Time{}
	}
}
