package engine

import (
	"context"
	"fmt"
)

// refreshIfPending acts on a refresh sent along a notify edge. The flag is
// taken before Refresh runs and put back if it fails, so a refresh that
// arrives meanwhile is never lost and a failed one is tried again.
// A resource that is no Refresher just has the flag cleared.
func (n *node) refreshIfPending(ctx context.Context) (refreshed bool, err error) {
	if !n.eng.takeRefresh(n) {
		return false, nil
	}
	r, ok := n.res.(Refresher)
	if !ok {
		return false, nil
	}
	n.log.Info("refreshing")
	if err := r.Refresh(ctx); err != nil {
		n.eng.setRefresh(n)
		return false, fmt.Errorf("refresh: %w", err)
	}
	return true, nil
}

func (e *Engine) takeRefresh(n *node) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := n.refresh
	n.refresh = false
	return r
}

func (e *Engine) setRefresh(n *node) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n.refresh = true
}
