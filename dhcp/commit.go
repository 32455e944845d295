package dhcp

import (
	"context"
	"log/slog"

	"github.com/rackboot/rackboot/inventory"
)

// pending is a lease change waiting for its commit, and what to do once it
// is durable (send the ACK).
type pending struct {
	change *inventory.LeaseChange
	send   func()
}

// committer writes lease changes in batches: while one transaction is
// being fsynced, the changes that arrive queue up and go into the next
// one, so the commit rate follows the load without a timer. Replies are
// sent only after the transaction holding their change has committed.
type committer struct {
	store LeaseStore
	queue chan pending
	max   int
	log   *slog.Logger
	stats *counters
}

// commitQueue bounds the requests waiting for a commit; beyond it a request
// is dropped and its client retries.
const commitQueue = 16384

func newCommitter(store LeaseStore, max int, log *slog.Logger, stats *counters) *committer {
	return &committer{store: store, queue: make(chan pending, commitQueue), max: max, log: log, stats: stats}
}

// enqueue never blocks the read loop; false means the queue is full.
func (c *committer) enqueue(p pending) bool {
	select {
	case c.queue <- p:
		return true
	default:
		return false
	}
}

// run commits until ctx ends. Changes still queued then are dropped
// unanswered: their clients were never told they had a lease.
func (c *committer) run(ctx context.Context) error {
	batch := make([]pending, 0, c.max)
	changes := make([]inventory.LeaseChange, 0, c.max)
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-c.queue:
			batch = c.gather(append(batch[:0], p))
		}
		changes = changes[:0]
		for _, p := range batch {
			changes = append(changes, *p.change)
		}
		c.commit(ctx, batch, changes)
	}
}

// gather adds whatever else is already waiting, up to max.
func (c *committer) gather(batch []pending) []pending {
	for len(batch) < c.max {
		select {
		case p := <-c.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (c *committer) commit(ctx context.Context, batch []pending, changes []inventory.LeaseChange) {
	if err := c.store.WriteLeases(ctx, changes); err != nil {
		c.stats.commitErrors.Add(1)
		if ctx.Err() == nil {
			c.log.Error("dhcp lease commit failed; replies withheld", "leases", len(batch), "err", err)
		}
		return
	}
	c.stats.commitBatches.Add(1)
	c.stats.commits.Add(uint64(len(batch)))
	for _, p := range batch {
		p.send()
	}
}
