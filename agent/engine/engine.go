package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultQuiet is how long every resource must stay settled before the
// engine reports the graph converged, when Config.Quiet is zero.
const DefaultQuiet = 500 * time.Millisecond

// Config configures an Engine. The zero value works: silent, 500ms quiet period.
type Config struct {
	Logger *slog.Logger     // nil: silent
	Quiet  time.Duration    // quiet period before "converged"; 0: DefaultQuiet
	Now    func() time.Time // clock for status times; nil: time.Now
	// OnEvent receives status events, one at a time and in order. It runs on
	// the engine's goroutines, so it must return quickly and must not call
	// the engine.
	OnEvent func(Event)
}

// Engine runs one resource graph at a time. Start Run once, then call Apply
// from any goroutine.
type Engine struct {
	log     *slog.Logger
	now     func() time.Time
	track   *tracker
	applyCh chan applyReq

	mu    sync.Mutex // guards nodes and every node's edges, state and refresh
	nodes map[Key]*node
}

type applyReq struct {
	graph *Graph
	done  chan error
}

// New returns an engine; nothing runs until Run.
func New(cfg Config) *Engine {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	quiet := cfg.Quiet
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Engine{
		log:     log,
		now:     now,
		track:   newTracker(quiet, now, cfg.OnEvent),
		applyCh: make(chan applyReq),
		nodes:   map[Key]*node{},
	}
}

// Run runs the graphs handed to Apply until ctx is done, then stops every
// resource and returns nil once all of their goroutines are gone.
func (e *Engine) Run(ctx context.Context) error {
	defer e.stopAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-e.applyCh:
			req.done <- e.swap(ctx, req.graph)
		}
	}
}

// Apply validates g and makes it the running graph. A graph that fails
// validation is refused and the running graph stays as it was.
func (e *Engine) Apply(ctx context.Context, g *Graph) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("apply graph: %w", err)
	}
	req := applyReq{graph: g, done: make(chan error, 1)}
	select {
	case e.applyCh <- req:
	case <-ctx.Done():
		return fmt.Errorf("apply graph: %w", ctx.Err())
	}
	return <-req.done
}

// Statuses returns every resource's status and whether the graph converged.
func (e *Engine) Statuses() ([]Status, bool) { return e.track.snapshot() }

func (e *Engine) stopAll() {
	e.mu.Lock()
	nodes := e.nodes
	e.nodes = map[Key]*node{}
	e.mu.Unlock()
	for _, n := range nodes {
		n.cancel()
	}
	for _, n := range nodes {
		n.wg.Wait()
	}
	e.track.close()
}
