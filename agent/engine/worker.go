package engine

import (
	"context"
	"fmt"
	"time"
)

// outcome is the result of one check (with its retries).
type outcome struct {
	changed bool  // the resource was changed or refreshed
	drift   bool  // noop: it differs and was left alone
	err     error // the last failure once retries ran out
	checks  int   // CheckApply calls made
}

// workLoop waits for a watch event or a poke from upstream and checks the
// resource. Events arriving while it checks wait in the unbuffered channel,
// so a burst of them costs one more check, not one each.
func (n *node) workLoop(ctx context.Context) {
	lim := newLimiter(n.meta.Limit, n.meta.Burst)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.events:
		case <-n.poke:
		}
		n.step(ctx, lim)
	}
}

// step checks the resource once its requires are correct; if they are not,
// it stays pending and the upstream resource wakes it when it is done.
func (n *node) step(ctx context.Context, lim *limiter) {
	if !n.eng.begin(n) {
		return
	}
	if err := lim.wait(ctx, time.Now()); err != nil {
		return
	}
	o := n.runWithRetry(ctx)
	if ctx.Err() != nil {
		return
	}
	n.eng.finish(n, o)
}

func (n *node) runWithRetry(ctx context.Context) outcome {
	left, checks := n.meta.Retry, 0
	for {
		o := n.attempt(ctx)
		checks++
		o.checks = checks
		// A change made by an attempt whose refresh then failed must still
		// reach the notify edges once a later attempt succeeds.
		n.owed = n.owed || o.changed
		if o.err == nil || left == 0 || ctx.Err() != nil {
			return o
		}
		if left > 0 {
			left--
		}
		n.log.Warn("check failed, will retry", "err", o.err, "retries_left", left)
		n.eng.setFailed(n, o.err)
		if !sleep(ctx.Done(), n.meta.Delay) {
			return o
		}
	}
}

// attempt runs CheckApply and, after it succeeded, a pending refresh.
func (n *node) attempt(ctx context.Context) outcome {
	apply := !n.meta.Noop
	ok, err := n.res.CheckApply(ctx, apply)
	if err != nil {
		return outcome{err: fmt.Errorf("checkapply: %w", err)}
	}
	if !ok && !apply {
		n.log.Info("noop: would change")
		return outcome{drift: true}
	}
	o := outcome{changed: !ok}
	if !apply {
		return o
	}
	refreshed, err := n.refreshIfPending(ctx)
	if err != nil {
		return outcome{err: err}
	}
	o.changed = o.changed || refreshed
	return o
}
