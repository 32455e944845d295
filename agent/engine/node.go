package engine

import (
	"context"
	"log/slog"
	"sync"
)

// node is a running vertex: one watch goroutine feeding one worker goroutine.
type node struct {
	key    Key
	res    Resource
	meta   Meta
	eng    *Engine
	log    *slog.Logger
	events chan struct{} // from Watch; unbuffered, so a busy worker coalesces them
	poke   chan struct{} // from upstream resources; buffered 1, never blocks the sender
	cancel context.CancelFunc
	wg     sync.WaitGroup
	owed   bool // a change not yet passed on to notify edges; worker-only

	// Guarded by eng.mu: edges change when a new graph keeps this node.
	deps    []*node // resources that must be correct before this one is checked
	down    []*node // resources that depend on this one
	notify  []*node // resources sent a refresh after a real change here
	state   State
	refresh bool
}

func newNode(e *Engine, v *Vertex) *node {
	k := KeyOf(v.Res)
	return &node{
		key:    k,
		res:    v.Res,
		meta:   v.Meta,
		eng:    e,
		log:    e.log.With("resource", k.String()),
		events: make(chan struct{}),
		poke:   make(chan struct{}, 1),
		state:  StatePending,
	}
}

// start launches the watch and the worker under a child of ctx.
func (n *node) start(ctx context.Context) {
	ctx, n.cancel = context.WithCancel(ctx)
	n.wg.Add(2)
	go func() { defer n.wg.Done(); n.watchLoop(ctx) }()
	go func() { defer n.wg.Done(); n.workLoop(ctx) }()
}

// stop cancels the node and waits until both goroutines are gone.
func (n *node) stop() {
	n.cancel()
	n.wg.Wait()
}

// wake asks the worker for another check without ever blocking the caller.
func (n *node) wake() {
	select {
	case n.poke <- struct{}{}:
	default:
	}
}
