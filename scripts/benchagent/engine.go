package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
)

// runner is an engine running in this process, with a shared watcher and a
// converged signal.
type runner struct {
	eng       *engine.Engine
	fs        *resources.Watcher
	cancel    context.CancelFunc
	done      chan error
	converged chan struct{} // one value per converged event

	mu    sync.Mutex
	ok    map[engine.Key]bool
	allOK chan struct{} // closed the first time every resource is ok
	want  int
}

func startEngine(ctx context.Context, quiet time.Duration, want int) (*runner, error) {
	fs, err := resources.NewWatcher()
	if err != nil {
		return nil, err
	}
	r := &runner{fs: fs, done: make(chan error, 1), converged: make(chan struct{}, 16),
		ok: map[engine.Key]bool{}, allOK: make(chan struct{}), want: want}
	r.eng = engine.New(engine.Config{Quiet: quiet, OnEvent: r.onEvent})
	ctx, r.cancel = context.WithCancel(ctx)
	go func() { r.done <- r.eng.Run(ctx) }()
	return r, nil
}

func (r *runner) onEvent(ev engine.Event) {
	switch ev.Type {
	case engine.EventConverged:
		select {
		case r.converged <- struct{}{}:
		default:
		}
	case engine.EventResource:
		r.countOK(ev.Resource)
	}
}

func (r *runner) countOK(s engine.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.State == engine.StateOK {
		r.ok[s.Key] = true
	}
	if len(r.ok) == r.want && r.want > 0 {
		r.want = 0
		close(r.allOK)
	}
}

func (r *runner) apply(ctx context.Context, g *engine.Graph) error {
	resources.ShareWatcher(g, r.fs)
	return r.eng.Apply(ctx, g)
}

func (r *runner) stop() error {
	r.cancel()
	err := <-r.done
	r.fs.Close()
	return err
}

func waitConverged(ctx context.Context, r *runner, limit time.Duration) error {
	select {
	case <-r.converged:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("not converged within %v", limit)
	case <-ctx.Done():
		return ctx.Err()
	}
}
