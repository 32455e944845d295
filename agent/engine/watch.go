package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// watchRestartDelay is the pause before a failed Watch is started again when
// the resource has no retry delay of its own.
const watchRestartDelay = time.Second

// watchLoop runs the resource's Watch (or a poller) until ctx is done,
// restarting it after a failure: the first event of a new watch makes the
// worker check again, so nothing missed in between goes unnoticed.
func (n *node) watchLoop(ctx context.Context) {
	for {
		err := n.watchOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			n.log.Debug("watch ended: nothing more to watch")
			return
		}
		n.log.Warn("watch failed", "err", err)
		n.eng.setFailed(n, fmt.Errorf("watch: %w", err))
		if !sleep(ctx.Done(), max(n.meta.Delay, watchRestartDelay)) {
			return
		}
	}
}

func (n *node) watchOnce(ctx context.Context) error {
	if n.meta.Poll > 0 {
		return poll(ctx, n.meta.Poll, n.events)
	}
	err := n.res.Watch(ctx, n.events)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// poll stands in for Watch on things that cannot be watched: an event at
// once, then one every period.
func poll(ctx context.Context, period time.Duration, events chan<- struct{}) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case events <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}
