package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Timeouts bounds how long a host may stay in an in-progress state before it
// is moved to failed. A zero field means the default.
type Timeouts struct {
	Inspecting time.Duration // default 30m
	Deploying  time.Duration // default 60m
}

// For returns the timeout for state s, or 0 when s has none.
func (t Timeouts) For(s inventory.State) time.Duration {
	switch s {
	case inventory.StateInspecting:
		return cmp.Or(t.Inspecting, 30*time.Minute)
	case inventory.StateDeploying:
		return cmp.Or(t.Deploying, 60*time.Minute)
	}
	return 0
}

// Expire moves every host that has stayed in an in-progress state longer
// than its timeout to failed, and returns how many it moved. Run at start it
// is how hosts that were mid-transition when rackboot stopped are judged
// again: their clock is the time of their last transition, which survives a
// restart.
func (l *Lifecycle) Expire(ctx context.Context) (int, error) {
	now := l.now()
	var due []inventory.Host
	for _, st := range []inventory.State{inventory.StateInspecting, inventory.StateDeploying} {
		q := inventory.Query{State: st, Limit: inventory.MaxLimit}
		for {
			page, err := l.store.Hosts(ctx, q)
			if err != nil {
				return 0, err
			}
			for _, h := range page.Hosts {
				if now.Sub(h.StateChangedAt) > l.cfg.Timeouts.For(st) {
					due = append(due, h)
				}
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
	n := 0
	for _, h := range due {
		err := l.expireOne(ctx, h)
		if errors.Is(err, errMovedOn) || errors.Is(err, inventory.ErrNotFound) {
			continue // it moved on or went away meanwhile: nothing to do
		}
		if err != nil {
			return n, err
		}
		n++
		l.log.Warn("host timed out", "mac", h.MAC, "state", h.State, "since", h.StateChangedAt)
	}
	return n, nil
}

var errMovedOn = errors.New("host moved on")

// expireOne fails h only if it is still in the state and transition it was
// seen in, so a host that just moved on is never failed by a stale view.
func (l *Lifecycle) expireOne(ctx context.Context, seen inventory.Host) error {
	limit := l.cfg.Timeouts.For(seen.State)
	_, err := l.modify(ctx, seen.MAC, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != seen.State || !h.StateChangedAt.Equal(seen.StateChangedAt) {
			return inventory.Edit{}, errMovedOn
		}
		return inventory.Edit{To: inventory.StateFailed, Cause: fmt.Sprintf("timed out: %s for longer than %s", seen.State, limit), Actor: "rackboot"}, nil
	})
	return err
}

// RunTimeouts calls Expire now and then every interval until ctx ends.
func (l *Lifecycle) RunTimeouts(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := l.Expire(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("expire in-progress hosts", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
