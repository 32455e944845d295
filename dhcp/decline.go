package dhcp

import (
	"net/netip"
	"time"
)

// declines bounds what DECLINE can do to a pool. A DECLINE quarantines an
// address, and a client on the segment can DECLINE every address it is
// offered: unbounded, a few dozen made-up clients would empty a small pool
// for as long as the quarantine lasts (and beyond a restart). So each MAC
// may quarantine at most perClient addresses a quarantine period, and at
// most share percent of a subnet's pool (at least one address) is in
// quarantine at once; a DECLINE beyond either is taken as a RELEASE.
// Callers hold the lease index's lock.
type declines struct {
	perClient int
	share     int
	byMAC     map[string][]time.Time       // when each MAC's quarantines end
	bySubnet  map[netip.Prefix][]time.Time // when each subnet's quarantines end, in order
}

func newDeclines(perClient, share int) *declines {
	return &declines{perClient: perClient, share: share, byMAC: map[string][]time.Time{}, bySubnet: map[netip.Prefix][]time.Time{}}
}

// loaded counts a quarantine found in the stored leases.
func (d *declines) loaded(n *subnet, until time.Time) {
	if n != nil {
		d.bySubnet[n.Prefix] = insertSorted(d.bySubnet[n.Prefix], until)
	}
}

// admit reports whether mac may quarantine one more address of n until
// until, and counts it if so; why names the bound that refused.
func (d *declines) admit(mac string, n *subnet, now, until time.Time) (ok bool, why string) {
	mine := unexpired(d.byMAC[mac], now)
	d.byMAC[mac] = mine
	if len(mine) >= d.perClient {
		return false, "per client"
	}
	var held []time.Time
	if n != nil {
		held = unexpired(d.bySubnet[n.Prefix], now)
		d.bySubnet[n.Prefix] = held
		if len(held) >= max(1, int(n.size())*d.share/100) {
			return false, "share of the pool"
		}
		d.bySubnet[n.Prefix] = append(held, until)
	}
	d.byMAC[mac] = append(mine, until)
	d.prune(now)
	return true, ""
}

// prune forgets clients whose quarantines all ended, so a flood of made-up
// MACs does not grow the map for good.
func (d *declines) prune(now time.Time) {
	if len(d.byMAC) < 4096 {
		return
	}
	for m, ts := range d.byMAC {
		if len(unexpired(ts, now)) == 0 {
			delete(d.byMAC, m)
		}
	}
}

// unexpired drops the times before now from a list in increasing order.
func unexpired(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now) {
		i++
	}
	return ts[i:]
}

func insertSorted(ts []time.Time, t time.Time) []time.Time {
	i := len(ts)
	for i > 0 && ts[i-1].After(t) {
		i--
	}
	ts = append(ts, time.Time{})
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	return ts
}
