package fleetconfig

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// Graphs renders every host's graph and keeps it current: Run follows
// the Store, Wait answers agents' polls. Store is required; the zero
// value of every other field is the documented default.
type Graphs struct {
	Store  inventory.Store
	Logger *slog.Logger // silent when nil
	// Workers is how many hosts render at once; default GOMAXPROCS.
	Workers int
	// Now stamps render failures; time.Now when nil.
	Now func() time.Time

	// onRound, when set, sees the outcome of each round (tests).
	onRound func(r roundInfo)

	init    sync.Once
	ready   chan struct{} // closed once every host has rendered once
	mu      sync.Mutex
	serving map[string]*served
}

// served is what agents of one host are given.
type served struct {
	graph   *machineapi.Graph // nil until one renders
	changed chan struct{}     // closed when graph is replaced or the host goes
}

func (g *Graphs) setup() {
	g.init.Do(func() {
		g.ready = make(chan struct{})
		g.serving = map[string]*served{}
	})
}

func (g *Graphs) log() *slog.Logger {
	if g.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Logger
}

// Wait returns host mac's graph once there is one whose version is not
// have (the version the agent runs; "" for none), waiting for it until
// ctx ends (then ctx.Err()). A host whose configs have never rendered has
// no graph to give. ErrNotFound (wrapped) for a host that does not exist.
func (g *Graphs) Wait(ctx context.Context, mac, have string) (machineapi.Graph, error) {
	g.setup()
	select {
	case <-g.ready:
	default: // not yet: wait (checked apart, so an ended ctx still gets a graph that is there)
		select {
		case <-g.ready:
		case <-ctx.Done():
			return machineapi.Graph{}, ctx.Err()
		}
	}
	for {
		s, err := g.entry(ctx, mac)
		if err != nil {
			return machineapi.Graph{}, err
		}
		g.mu.Lock()
		graph, changed := s.graph, s.changed
		g.mu.Unlock()
		if graph != nil && graph.Version != have {
			return *graph, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return machineapi.Graph{}, ctx.Err()
		}
	}
}

// entry returns what host mac is served. A host the renderer has not seen
// yet (created a moment ago) gets an empty entry that its first render
// fills in.
func (g *Graphs) entry(ctx context.Context, mac string) (*served, error) {
	g.mu.Lock()
	s := g.serving[mac]
	g.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if _, err := g.Store.Host(ctx, mac); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s = g.serving[mac]; s == nil {
		s = &served{changed: make(chan struct{})}
		g.serving[mac] = s
	}
	return s, nil
}

// Run renders every host, then re-renders those that what changes in the
// Store concerns, until ctx ends. A round that cannot read the Store is
// logged and the fleet read again a second later: agents keep what they
// are served meanwhile, and the appliance keeps running.
func (g *Graphs) Run(ctx context.Context) error {
	g.setup()
	if g.Store == nil {
		return errors.New("fleetconfig: Graphs needs a Store")
	}
	workers := g.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := newRenderer(g.Store, workers)
	fw := &failureWriter{store: g.Store, log: g.log(), now: g.Now}
	fw.setup()
	var wg sync.WaitGroup
	defer wg.Wait() // the writers and the pump end with ctx
	wg.Go(func() { fw.run(ctx) })
	feed := newPump(ctx, g.Store, &wg) // before the load, so no change slips between
	changes, all := []inventory.Change(nil), true
	for {
		if err := g.round(ctx, r, fw, changes, all); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The Store could not be read: agents keep the graphs they
			// are served, and the whole fleet is read again shortly.
			g.log().Error("rendering the agents' configs", "err", err, "retry_in", retryRound)
			select {
			case <-time.After(retryRound):
			case <-ctx.Done():
				return nil
			}
			changes, all = nil, true
			continue
		}
		select {
		case <-g.ready:
		default:
			close(g.ready)
		}
		var ok bool
		if changes, all, ok = feed.next(ctx); !ok {
			return nil
		}
	}
}

// retryRound is the pause before reading the fleet again after a round
// that could not read the Store.
const retryRound = time.Second

// round takes changes in (or, when all is set, the whole fleet afresh),
// renders what they concern and serves the results.
func (g *Graphs) round(ctx context.Context, r *renderer, fw *failureWriter, changes []inventory.Change, all bool) error {
	start := time.Now()
	dirty, gone := map[string]struct{}{}, []string(nil)
	if all {
		var err error
		if dirty, gone, err = r.load(ctx); err != nil {
			return err
		}
	}
	for _, c := range changes {
		mac, err := r.apply(ctx, c, dirty)
		if err != nil {
			return err
		}
		if mac != "" {
			gone = append(gone, mac)
		}
	}
	ups, err := r.renderAll(ctx, dirty)
	if err != nil {
		return err
	}
	woken := g.serve(ups, gone)
	if g.onRound != nil {
		info := roundInfo{changes: len(changes), gone: gone}
		for _, u := range ups {
			info.rendered = append(info.rendered, u.mac)
		}
		info.woken = woken
		g.onRound(info)
	}
	// Each host touched shows the failure it should: a new one, or one
	// stored by an earlier write that a later render has overtaken.
	for _, u := range ups {
		fw.check(r, u.mac)
	}
	for _, c := range changes {
		fw.check(r, c.Host.MAC)
	}
	if len(ups) > 0 || len(gone) > 0 {
		g.log().Debug("rendered", "changes", len(changes), "hosts", len(ups), "new_graphs", len(woken), "gone", len(gone), "took", time.Since(start))
	}
	return nil
}

// roundInfo is what one round did, for tests.
type roundInfo struct {
	changes  int
	rendered []string
	woken    []string
	gone     []string
}

// serve makes the new graphs the ones agents get, wakes the agents
// waiting for them, and ends the entries of hosts that are gone. It
// returns the hosts that got a new graph.
func (g *Graphs) serve(ups []update, gone []string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var woken []string
	for _, u := range ups {
		s := g.serving[u.mac]
		if s == nil {
			s = &served{changed: make(chan struct{})}
			g.serving[u.mac] = s
		}
		if u.graph == nil || (s.graph != nil && s.graph.Version == u.graph.Version) {
			continue
		}
		s.graph = u.graph
		close(s.changed)
		s.changed = make(chan struct{})
		woken = append(woken, u.mac)
	}
	for _, mac := range gone {
		if s := g.serving[mac]; s != nil {
			close(s.changed)
			delete(g.serving, mac)
		}
	}
	return woken
}

// pump moves the Store's changes into an unbounded queue as they come,
// so a long round of renders never makes the Store drop the subscription.
// If it is dropped anyway, the pump subscribes again and says so (lost):
// what was missed is unknown, so the whole fleet is read again.
type pump struct {
	mu      sync.Mutex
	queue   []inventory.Change
	lost    bool
	waiting chan struct{}
}

func newPump(ctx context.Context, store inventory.Store, wg *sync.WaitGroup) *pump {
	p := &pump{waiting: make(chan struct{}, 1)}
	sub := store.Subscribe(ctx)
	wg.Go(func() {
		for {
			c, ok := <-sub
			p.mu.Lock()
			if ok {
				p.queue = append(p.queue, c)
			} else if ctx.Err() == nil {
				sub, p.lost, p.queue = store.Subscribe(ctx), true, nil
			}
			p.mu.Unlock()
			select {
			case p.waiting <- struct{}{}:
			default:
			}
			if !ok && ctx.Err() != nil {
				return
			}
		}
	})
	return p
}

// next returns what came since the last call, waiting for something the
// first time only when nothing is pending; ok is false once ctx ended.
func (p *pump) next(ctx context.Context) (changes []inventory.Change, lost, ok bool) {
	for {
		p.mu.Lock()
		changes, lost = p.queue, p.lost
		p.queue, p.lost = nil, false
		p.mu.Unlock()
		if ctx.Err() != nil {
			return nil, false, false
		}
		if len(changes) > 0 || lost {
			return changes, lost, true
		}
		select {
		case <-p.waiting:
		case <-ctx.Done():
			return nil, false, false
		}
	}
}
