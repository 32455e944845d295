package fleetconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// EventRender is the type of the event logged on a host when its configs
// stop rendering, fail differently, or render again.
const EventRender = "render"

// failureWriters is how many hosts' failures are stored at once: writes
// in flight together share the Store's commits.
const failureWriters = 8

// failureWriter stores on each host the render failure it should show,
// off the render loop (a config that breaks for a thousand hosts is a
// thousand writes). Only the newest wanted failure of a host is kept.
type failureWriter struct {
	store inventory.Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	pending map[string]*inventory.RenderFailure // nil: clear it
	order   []string
	wake    chan struct{}
}

// check asks for a write when what host mac shows (as the renderer last
// saw it on the feed) is not the failure its last render wants.
func (w *failureWriter) check(r *renderer, mac string) {
	h, st := r.fleet[mac], r.hosts[mac]
	if h != nil && st != nil && !sameFailure(h.failure, st.failure) {
		w.want(mac, st.failure)
	}
}

// want asks that host mac show f (nil: no failure).
func (w *failureWriter) want(mac string, f *inventory.RenderFailure) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, queued := w.pending[mac]; !queued {
		w.order = append(w.order, mac)
	}
	w.pending[mac] = f
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *failureWriter) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range failureWriters {
		wg.Go(func() {
			for {
				mac, f, ok := w.take(ctx)
				if !ok {
					return
				}
				w.write(ctx, mac, f)
			}
		})
	}
	wg.Wait()
}

func (w *failureWriter) setup() {
	w.pending, w.wake = map[string]*inventory.RenderFailure{}, make(chan struct{}, failureWriters)
}

// take waits for a host to write.
func (w *failureWriter) take(ctx context.Context) (string, *inventory.RenderFailure, bool) {
	for {
		w.mu.Lock()
		if len(w.order) > 0 {
			mac := w.order[0]
			w.order = w.order[1:]
			f := w.pending[mac]
			delete(w.pending, mac)
			w.mu.Unlock()
			return mac, f, true
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
			return "", nil, false
		}
	}
}

// write stores f on the host, with an event, unless it shows it already.
func (w *failureWriter) write(ctx context.Context, mac string, f *inventory.RenderFailure) {
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	_, err := w.store.ModifyHost(ctx, mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
		if sameFailure(h.RenderFailure, f) {
			return inventory.Edit{}, nil // unchanged: nothing is stored
		}
		ed := inventory.Edit{Type: EventRender, Actor: "fleetconfig", Cause: "configs render again"}
		h.RenderFailure = nil
		if f != nil {
			nf := *f
			nf.Since = now().UTC()
			h.RenderFailure = &nf
			ed.Cause = describeFailure(&nf)
		}
		return ed, nil
	})
	if err != nil && !errors.Is(err, inventory.ErrNotFound) && ctx.Err() == nil {
		w.log.Warn("storing a render failure", "mac", mac, "err", err)
	}
}

func describeFailure(f *inventory.RenderFailure) string {
	kept := "no graph rendered yet to keep"
	if f.Graph != "" {
		kept = "keeping graph " + f.Graph
	}
	return fmt.Sprintf("config %s does not render: %s (%s)", f.Config, f.Error, kept)
}

// sameFailure compares what a failure says, not when it was first seen.
func sameFailure(a, b *inventory.RenderFailure) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Config == b.Config && a.Error == b.Error && a.Graph == b.Graph
}
