package dhcp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Subnet is one network rackboot hands out addresses on: the serving
// interface's own, or one behind a relay (chosen by the relay's giaddr).
type Subnet struct {
	Prefix netip.Prefix // the network, e.g. 10.1.0.0/24
	// First and Last bound the dynamic pool; both zero means no pool
	// (reservations only).
	First, Last netip.Addr
	Router      netip.Addr   // option 3; none when zero
	DNS         []netip.Addr // option 6
	Domain      string       // option 15
	LeaseTime   time.Duration
}

// Validate checks that the range lies inside the prefix.
func (n *Subnet) Validate() error {
	if !n.Prefix.IsValid() || !n.Prefix.Addr().Is4() {
		return fmt.Errorf("subnet %v: not an IPv4 prefix", n.Prefix)
	}
	if !n.First.IsValid() && !n.Last.IsValid() {
		return nil
	}
	if !n.Prefix.Contains(n.First) || !n.Prefix.Contains(n.Last) || n.Last.Less(n.First) {
		return fmt.Errorf("subnet %v: range %v-%v is not an ordered range inside it", n.Prefix, n.First, n.Last)
	}
	return nil
}

func (n *Subnet) mask() net.IPMask { return net.CIDRMask(n.Prefix.Bits(), 32) }

// subnet is a Subnet with the state of its dynamic pool.
type subnet struct {
	Subnet
	first, last uint32 // the pool as numbers; last < first when there is none
	next        uint32 // where the next scan for a free address starts
	dryUntil    time.Time
}

func newSubnet(n Subnet) *subnet {
	s := &subnet{Subnet: n, first: 1, last: 0}
	if n.First.IsValid() {
		s.first, s.last = u32(n.First), u32(n.Last)
	}
	s.next = s.first
	return s
}

func (s *subnet) inPool(ip netip.Addr) bool {
	if !ip.Is4() {
		return false
	}
	v := u32(ip)
	return v >= s.first && v <= s.last
}

func (s *subnet) size() uint32 {
	if s.last < s.first {
		return 0
	}
	return s.last - s.first + 1
}

func u32(ip netip.Addr) uint32 {
	a := ip.As4()
	return binary.BigEndian.Uint32(a[:])
}

func addr(v uint32) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// ipOf converts a packet field; invalid (zero) for nil, 0.0.0.0 or IPv6.
func ipOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
