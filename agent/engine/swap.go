package engine

import "context"

// swap replaces the running graph with g. Resources with the same key, equal
// metaparameters and Cmp true keep running (their watches are not
// restarted); the rest are stopped before their replacements start, so two
// versions of one resource never fight.
func (e *Engine) swap(ctx context.Context, g *Graph) error {
	e.mu.Lock()
	old := e.nodes
	e.mu.Unlock()
	next, added := e.plan(old, g)
	for k, o := range old {
		if next[k] != o {
			o.stop()
			e.track.remove(k)
		}
	}
	e.mu.Lock()
	before := depKeys(next)
	e.nodes = next
	wire(next, g.edges)
	e.mu.Unlock()
	for _, n := range added {
		e.track.add(n.key)
		n.start(ctx)
	}
	e.wakeRewired(next, before)
	e.track.touch()
	e.log.Info("graph applied", "resources", len(next), "started", len(added))
	return nil
}

// plan decides which nodes to keep and which to create.
func (e *Engine) plan(old map[Key]*node, g *Graph) (map[Key]*node, []*node) {
	next := make(map[Key]*node, len(g.order))
	var added []*node
	for _, k := range g.order {
		v := g.vertices[k]
		if o := old[k]; o != nil && o.meta == v.Meta && o.res.Cmp(v.Res) {
			next[k] = o
			continue
		}
		n := newNode(e, v)
		next[k] = n
		added = append(added, n)
	}
	return next, added
}

// wire sets every node's edges from scratch; e.mu is held.
func wire(nodes map[Key]*node, edges []Edge) {
	for _, n := range nodes {
		n.deps, n.down, n.notify = nil, nil, nil
	}
	for _, ed := range edges {
		from, to := nodes[ed.From], nodes[ed.To]
		from.down = append(from.down, to)
		to.deps = append(to.deps, from)
		if ed.Notify {
			from.notify = append(from.notify, to)
		}
	}
}
