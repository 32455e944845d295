package dhcp

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/rackboot/rackboot/inventory"
)

// reservations maps reserved addresses (a host's IP in the inventory) to
// their MACs, so the pool never hands one to another client. ofMAC, the
// other direction, is kept to find a host's old address when its IP
// changes or it is deleted.
type reservations struct {
	mu    sync.RWMutex
	byIP  map[netip.Addr]string
	ofMAC map[string]netip.Addr
}

func newReservations() *reservations {
	return &reservations{byIP: map[netip.Addr]string{}, ofMAC: map[string]netip.Addr{}}
}

// forOther reports whether ip is reserved for a MAC other than mac.
func (r *reservations) forOther(ip netip.Addr, mac string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	owner, ok := r.byIP[ip]
	return ok && owner != mac
}

func (r *reservations) set(h *inventory.Host, deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.ofMAC[h.MAC]; ok {
		delete(r.ofMAC, h.MAC)
		if r.byIP[old] == h.MAC {
			delete(r.byIP, old)
		}
	}
	ip, err := netip.ParseAddr(h.IP)
	if deleted || err != nil {
		return
	}
	r.byIP[ip], r.ofMAC[h.MAC] = h.MAC, ip
}

// load reads every host's reservation, a page at a time, into fresh maps
// that then replace the old ones: a host deleted since the last load (while
// a dropped feed was being replaced) leaves nothing behind.
func (r *reservations) load(ctx context.Context, inv Inventory) error {
	fresh := newReservations()
	q := inventory.Query{Limit: inventory.MaxLimit}
	for {
		page, err := inv.Hosts(ctx, q)
		if err != nil {
			return fmt.Errorf("load reservations: %w", err)
		}
		for i := range page.Hosts {
			fresh.set(&page.Hosts[i], false)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	r.mu.Lock()
	r.byIP, r.ofMAC = fresh.byIP, fresh.ofMAC
	r.mu.Unlock()
	return nil
}

// follow keeps the map in step with the inventory's change feed. A feed
// that closes while ctx lives (this subscriber fell behind) is replaced and
// the map read again, so no change is lost.
func (r *reservations) follow(ctx context.Context, inv Inventory, feed <-chan inventory.Change) error {
	for {
		for c := range feed {
			r.set(&c.Host, c.Deleted)
		}
		if ctx.Err() != nil {
			return nil
		}
		feed = inv.Subscribe(ctx)
		if err := r.load(ctx, inv); err != nil {
			return err
		}
	}
}
