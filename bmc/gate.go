package bmc

import (
	"context"
	"sync"
	"time"
)

// gate admits operations: one at a time per BMC (many BMCs allow only a
// handful of sessions, and two operators' commands interleaved on one
// machine are never what either meant), and at most MaxSessions overall.
type gate struct {
	slots chan struct{}

	mu   sync.Mutex
	bmcs map[string]*bmcSlot
}

// bmcSlot is one BMC's lock and memory. Fields other than lock are only
// touched by the holder of lock.
type bmcSlot struct {
	lock   chan struct{}
	last   time.Time // end of the last command sent to it
	cipher string    // IPMI cipher suite known to work
}

func newGate(maxSessions int) *gate {
	return &gate{slots: make(chan struct{}, maxSessions), bmcs: map[string]*bmcSlot{}}
}

func (g *gate) slot(bmc string) *bmcSlot {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.bmcs[bmc]
	if b == nil {
		b = &bmcSlot{lock: make(chan struct{}, 1)}
		g.bmcs[bmc] = b
	}
	return b
}

// enter waits for the BMC first and a global slot second, so an operation
// queued behind a busy BMC does not sit on a slot others could use.
func (g *gate) enter(ctx context.Context, bmc string) (*bmcSlot, func(), error) {
	b := g.slot(bmc)
	select {
	case b.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		<-b.lock
		return nil, nil, ctx.Err()
	}
	return b, func() { <-g.slots; <-b.lock }, nil
}

// pace waits until gap has passed since the last command to this BMC.
func (b *bmcSlot) pace(ctx context.Context, gap time.Duration) error {
	return sleep(ctx, time.Until(b.last.Add(gap)))
}

func (b *bmcSlot) done() { b.last = time.Now() }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
