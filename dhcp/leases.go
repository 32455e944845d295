package dhcp

import (
	"net/netip"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// state of an address in the lease index.
type state uint8

const (
	offered  state = iota + 1 // held for a client between OFFER and REQUEST; memory only
	bound                     // ACKed and committed
	declined                  // a client found it in use; quarantined
)

// lease is one address in the index.
type lease struct {
	ip       netip.Addr
	mac      string // empty when declined
	hostname string
	expires  time.Time
	state    state
}

func (l *lease) stored() inventory.Lease {
	return inventory.Lease{IP: l.ip, MAC: l.mac, Hostname: l.hostname, Expires: l.expires, Declined: l.state == declined}
}

// leaseIndex is every address the server holds, by address and by MAC.
// Expired entries stay until their address is needed again, so a client
// coming back after its lease ran out still gets the same address when
// nobody else took it; expiry means "may be reclaimed".
type leaseIndex struct {
	mu    sync.Mutex
	byIP  map[netip.Addr]*lease
	byMAC map[string]*lease // the client's current entry (offered or bound)
}

func newLeaseIndex() *leaseIndex {
	return &leaseIndex{byIP: map[netip.Addr]*lease{}, byMAC: map[string]*lease{}}
}

// load fills the index from the store. When a MAC has two stored leases
// (it moved between subnets) the later-expiring one is its current one; the
// other stays held until it expires.
func (x *leaseIndex) load(stored []inventory.Lease) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, sl := range stored {
		l := &lease{ip: sl.IP, mac: sl.MAC, hostname: sl.Hostname, expires: sl.Expires, state: bound}
		if sl.Declined {
			l.state, l.mac = declined, ""
		}
		x.byIP[l.ip] = l
		if cur := x.byMAC[l.mac]; l.mac != "" && (cur == nil || cur.expires.Before(l.expires)) {
			x.byMAC[l.mac] = l
		}
	}
}

// usable reports whether mac may be given ip: nobody holds it, or mac
// does, or the holder's time has run out.
func (x *leaseIndex) usable(ip netip.Addr, mac string, now time.Time) bool {
	l := x.byIP[ip]
	return l == nil || l.mac == mac || !now.Before(l.expires)
}

// hold records ip as held by mac (none for a declined address) in state st
// until expires, detaching the address from any previous holder. An offer
// never shortens the client's own bound lease.
func (x *leaseIndex) hold(ip netip.Addr, mac, hostname string, st state, expires time.Time) *lease {
	if cur := x.byIP[ip]; cur != nil && cur.mac == mac && cur.state == bound && st == offered && expires.Before(cur.expires) {
		return cur
	}
	if old := x.byIP[ip]; old != nil && old.mac != mac && x.byMAC[old.mac] == old {
		delete(x.byMAC, old.mac)
	}
	if cur := x.byMAC[mac]; cur != nil && cur.ip != ip && cur.state == offered {
		delete(x.byIP, cur.ip) // an unanswered offer elsewhere: let it go
	}
	l := &lease{ip: ip, mac: mac, hostname: hostname, expires: expires, state: st}
	x.byIP[ip] = l
	if mac != "" {
		x.byMAC[mac] = l
	}
	return l
}

// current returns mac's entry, if any.
func (x *leaseIndex) current(mac string) *lease { return x.byMAC[mac] }

// forget drops mac's entry at ip, if it holds it.
func (x *leaseIndex) forget(ip netip.Addr, mac string) bool {
	l := x.byIP[ip]
	if l == nil || l.mac != mac {
		return false
	}
	delete(x.byIP, ip)
	if x.byMAC[mac] == l {
		delete(x.byMAC, mac)
	}
	return true
}

// dropOffer forgets mac's pending offer: it took another server's.
func (x *leaseIndex) dropOffer(mac string) {
	if l := x.byMAC[mac]; l != nil && l.state == offered {
		x.forget(l.ip, mac)
	}
}

// active counts bound, unexpired leases, for Stats.
func (x *leaseIndex) active(now time.Time) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, l := range x.byIP {
		if l.state == bound && now.Before(l.expires) {
			n++
		}
	}
	return n
}
