package resources

import (
	"context"
	"time"
)

// watchPaths sends an event once it is watching, then whenever one of paths
// may have changed, and every tick (when tick > 0) for what inotify cannot
// see (procfs, a kernel value). With a shared Watcher it uses that one's
// inotify instance; without, it makes its own for the length of the watch.
func watchPaths(ctx context.Context, shared *Watcher, events chan<- struct{}, tick time.Duration, paths ...string) error {
	w := shared
	if w == nil && len(paths) > 0 {
		var err error
		if w, err = NewWatcher(); err != nil {
			return err
		}
		defer w.Close()
	}
	if w == nil {
		return tickOnly(ctx, events, tick)
	}
	return w.watch(ctx, events, tick, paths)
}

func tickOnly(ctx context.Context, events chan<- struct{}, tick time.Duration) error {
	c := tickC(tick)
	for deliver(ctx, events) {
		select {
		case <-ctx.Done():
			return nil
		case <-c:
		}
	}
	return nil
}

func deliver(ctx context.Context, events chan<- struct{}) bool {
	select {
	case events <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// tickC returns a ticker channel, or nil (never fires) for d <= 0. The
// ticker is collected once unreachable (Go 1.23+), so nothing leaks.
func tickC(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.NewTicker(d).C
}

// waitDone is the Watch of a resource with nothing to watch: one event, then
// nothing until ctx is done.
func waitDone(ctx context.Context, events chan<- struct{}) error {
	if deliver(ctx, events) {
		<-ctx.Done()
	}
	return nil
}

// notify signals ch without blocking; a pending signal already says it all.
func notify(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
