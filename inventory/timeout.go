package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Expire moves every host that has stayed in an in-progress state longer
// than its timeout to failed, and returns how many it moved. Run at start it
// is how hosts that were mid-transition when rackboot stopped are judged
// again: their clock is the time of their last transition, which survives a
// restart.
func (db *DB) Expire(ctx context.Context) (int, error) {
	now := db.now()
	var due []Host
	db.mu.RLock()
	for _, h := range db.hosts {
		if d := db.opts.Timeouts.For(h.State); d > 0 && now.Sub(h.StateChangedAt) > d {
			due = append(due, h.Clone())
		}
	}
	db.mu.RUnlock()
	n := 0
	for _, h := range due {
		err := db.expireOne(ctx, h)
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			continue // it moved on or went away meanwhile: nothing to do
		}
		if err != nil {
			return n, err
		}
		n++
		db.log.Warn("host timed out", "mac", h.MAC, "state", h.State, "since", h.StateChangedAt)
	}
	return n, nil
}

// expireOne fails h only if it is still in the state and transition it was
// seen in, so a host that just moved on is never failed by a stale view.
func (db *DB) expireOne(ctx context.Context, seen Host) error {
	limit := db.opts.Timeouts.For(seen.State)
	cause := fmt.Sprintf("timed out: %s for longer than %s", seen.State, limit)
	_, err := db.transitionIf(ctx, seen.MAC, func(h *Host) error {
		if h.State != seen.State || !h.StateChangedAt.Equal(seen.StateChangedAt) {
			return ErrConflict
		}
		return nil
	}, StateFailed, cause, "rackboot")
	return err
}

// RunTimeouts calls Expire now and then every interval until ctx ends.
func (db *DB) RunTimeouts(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := db.Expire(ctx); err != nil && ctx.Err() == nil {
			db.log.Error("expire in-progress hosts", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
