package dhcp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// discoverer adds unknown netbooting MACs to the inventory as discovered
// hosts, off the packet path: the read loop only drops the MAC into a
// queue. A MAC already queued is not queued again.
type discoverer struct {
	inv    Enlister
	log    *slog.Logger
	stats  *counters
	queue  chan string
	mu     sync.Mutex
	queued map[string]struct{}
	// lastWarn is when a refusal was last logged; only run touches it.
	lastWarn time.Time
}

const discoveryQueue = 1024

func newDiscoverer(inv Enlister, log *slog.Logger, stats *counters) *discoverer {
	return &discoverer{inv: inv, log: log, stats: stats, queue: make(chan string, discoveryQueue), queued: map[string]struct{}{}}
}

// note queues mac unless it is queued already or the queue is full (the
// client will ask again).
func (d *discoverer) note(mac string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.queued[mac]; ok {
		return
	}
	select {
	case d.queue <- mac:
		d.queued[mac] = struct{}{}
	default:
		d.stats.discoveryDropped.Add(1)
	}
}

func (d *discoverer) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case mac := <-d.queue:
			d.create(ctx, mac)
		}
	}
}

func (d *discoverer) create(ctx context.Context, mac string) {
	_, err := d.inv.Enlist(ctx, mac, "dhcp")
	switch {
	case err == nil:
		d.stats.discovered.Add(1)
		d.log.Info("dhcp discovered host", "mac", mac)
	case errors.Is(err, inventory.ErrExists):
	case ctx.Err() == nil:
		// A limit of discovery (a flood of made-up MACs) refuses many
		// in a row: one line a minute says so, the enlister counts them.
		d.stats.discoveryRefused.Add(1)
		if now := time.Now(); now.Sub(d.lastWarn) >= time.Minute {
			d.lastWarn = now
			d.log.Warn("dhcp discovery: host not enlisted", "mac", mac, "err", err, "refused_so_far", d.stats.discoveryRefused.Load())
		}
	}
	// Forget it only now: from here on Host finds it, so the read loop
	// will not queue it again.
	d.mu.Lock()
	delete(d.queued, mac)
	d.mu.Unlock()
}
