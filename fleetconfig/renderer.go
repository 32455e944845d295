package fleetconfig

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// renderer is the state behind Graphs, owned by its Run goroutine: the
// fleet as templates see it, the configs, each host's last render and
// what it read, and the index from what was read to who read it.
type renderer struct {
	store   inventory.Store
	workers int

	fleet   map[string]*hostRec
	sorted  []*hostRec
	byName  map[string][]string // hostname → MACs, ordered
	values  map[string]map[string]string
	configs []*compiled

	hosts     map[string]*hostState
	readers   map[readKey]map[string]struct{} // what was read → MACs of the renders that read it
	selectors map[string]*selector            // selectors some render read; nil when one does not parse
}

// hostState is one host's last render.
type hostState struct {
	reads   reads
	good    *machineapi.Graph        // the last graph that rendered
	failure *inventory.RenderFailure // why the newest did not, if it did not
}

// update is a render's result, for Graphs to serve and store.
type update struct {
	mac     string
	graph   *machineapi.Graph // the graph to serve; nil when none has rendered
	failure *inventory.RenderFailure
}

func newRenderer(store inventory.Store, workers int) *renderer {
	r := &renderer{store: store, workers: workers}
	r.reset()
	return r
}

func (r *renderer) reset() {
	r.fleet, r.sorted, r.byName, r.values = map[string]*hostRec{}, nil, map[string][]string{}, map[string]map[string]string{}
	r.readers, r.selectors = map[readKey]map[string]struct{}{}, map[string]*selector{}
	if r.hosts == nil {
		r.hosts = map[string]*hostState{}
	}
	for _, st := range r.hosts {
		st.reads = nil // the index is rebuilt by the renders that follow
	}
}

// load reads the whole fleet and every published value; it returns every
// MAC, all of which need rendering, and those of hosts that are gone.
func (r *renderer) load(ctx context.Context) (dirty map[string]struct{}, gone []string, err error) {
	r.reset()
	q := inventory.Query{Limit: inventory.MaxLimit}
	for {
		page, err := r.store.Hosts(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		for i := range page.Hosts {
			r.put(project(&page.Hosts[i]))
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	vals, err := r.store.PublishedValues(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	for _, v := range vals {
		if r.values[v.MAC] == nil {
			r.values[v.MAC] = map[string]string{}
		}
		r.values[v.MAC][v.Key] = v.Value
	}
	dirty = make(map[string]struct{}, len(r.fleet))
	for mac := range r.fleet {
		dirty[mac] = struct{}{}
	}
	for mac := range r.hosts {
		if r.fleet[mac] == nil {
			delete(r.hosts, mac)
			gone = append(gone, mac)
		}
	}
	return dirty, gone, nil
}

// put adds or replaces a host in the fleet and its indexes.
func (r *renderer) put(h *hostRec) {
	old := r.fleet[h.mac]
	r.fleet[h.mac] = h
	i, found := slices.BinarySearchFunc(r.sorted, h.mac, func(x *hostRec, m string) int { return strings.Compare(x.mac, m) })
	if found {
		r.sorted[i] = h
	} else {
		r.sorted = slices.Insert(r.sorted, i, h)
	}
	if old != nil && old.hostname != h.hostname {
		r.unname(old)
	}
	if h.hostname != "" && (old == nil || old.hostname != h.hostname) {
		macs := append(r.byName[h.hostname], h.mac)
		slices.Sort(macs)
		r.byName[h.hostname] = macs
	}
}

// remove takes a host out of the fleet and forgets its render.
func (r *renderer) remove(h *hostRec) {
	delete(r.fleet, h.mac)
	if i, found := slices.BinarySearchFunc(r.sorted, h.mac, func(x *hostRec, m string) int { return strings.Compare(x.mac, m) }); found {
		r.sorted = slices.Delete(r.sorted, i, i+1)
	}
	r.unname(h)
	delete(r.values, h.mac)
	if st := r.hosts[h.mac]; st != nil {
		r.unindex(h.mac, st.reads)
		delete(r.hosts, h.mac)
	}
}

func (r *renderer) unname(h *hostRec) {
	if h.hostname == "" {
		return
	}
	macs := slices.DeleteFunc(slices.Clone(r.byName[h.hostname]), func(m string) bool { return m == h.mac })
	if len(macs) == 0 {
		delete(r.byName, h.hostname)
	} else {
		r.byName[h.hostname] = macs
	}
}

// loadConfigs reads the stored configs, parsing only new versions.
func (r *renderer) loadConfigs(ctx context.Context) error {
	all, err := r.store.AgentConfigs(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]*compiled, len(r.configs))
	for _, c := range r.configs {
		have[c.cfg.Name] = c
	}
	next := make([]*compiled, len(all))
	for i, c := range all {
		if old := have[c.Name]; old != nil && old.cfg.Version == c.Version {
			next[i] = old
		} else {
			next[i] = compile(c)
		}
	}
	r.configs = next
	return nil
}

// renderAll renders the hosts in dirty (those still in the fleet), in
// parallel, and settles each outcome.
func (r *renderer) renderAll(ctx context.Context, dirty map[string]struct{}) ([]update, error) {
	if len(dirty) == 0 {
		return nil, nil
	}
	if err := r.loadConfigs(ctx); err != nil {
		return nil, err
	}
	snap := &snapshot{fleet: r.fleet, sorted: r.sorted, byName: r.byName, values: r.values, configs: r.configs}
	var todo []*hostRec
	for mac := range dirty {
		if h := r.fleet[mac]; h != nil {
			todo = append(todo, h)
		}
	}
	outs := make([]outcome, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(r.workers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				outs[i] = snap.render(todo[i], r.lastGood(todo[i].mac))
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	ups := make([]update, len(outs))
	for i := range outs {
		ups[i] = r.settle(outs[i])
	}
	return ups, nil
}

func (r *renderer) lastGood(mac string) *machineapi.Graph {
	if st := r.hosts[mac]; st != nil {
		return st.good
	}
	return nil
}

// settle records an outcome: its reads replace the host's old ones in
// the index; a graph becomes the one to serve; a failure keeps the last.
func (r *renderer) settle(o outcome) update {
	st := r.hosts[o.mac]
	if st == nil {
		st = &hostState{}
		r.hosts[o.mac] = st
	}
	r.unindex(o.mac, st.reads)
	st.reads = o.reads
	r.index(o.mac, o.reads)
	if o.graph != nil {
		st.good, st.failure = o.graph, nil
	} else {
		st.failure = o.failure
		if st.good != nil {
			st.failure.Graph = st.good.Version
		}
	}
	return update{mac: o.mac, graph: st.good, failure: st.failure}
}

func (r *renderer) index(mac string, rd reads) {
	for _, k := range rd {
		set := r.readers[k]
		if set == nil {
			set = map[string]struct{}{}
			r.readers[k] = set
			if k.kind == readSelector {
				if sel, err := parseSelector(k.a); err == nil {
					r.selectors[k.a] = &sel
				} else {
					r.selectors[k.a] = nil
				}
			}
		}
		set[mac] = struct{}{}
	}
}

func (r *renderer) unindex(mac string, rd reads) {
	for _, k := range rd {
		set := r.readers[k]
		delete(set, mac)
		if len(set) == 0 {
			delete(r.readers, k)
			if k.kind == readSelector {
				delete(r.selectors, k.a)
			}
		}
	}
}

// readersOf adds to dirty every host whose last render read k.
func (r *renderer) readersOf(k readKey, dirty map[string]struct{}) {
	for mac := range r.readers[k] {
		dirty[mac] = struct{}{}
	}
}

// apply takes one change from the feed into the fleet and adds to dirty
// the hosts whose renders read what it changed. It returns the MAC of a
// host that is gone, or "".
func (r *renderer) apply(ctx context.Context, c inventory.Change, dirty map[string]struct{}) (gone string, err error) {
	mac := c.Host.MAC
	if c.Value != nil {
		if err := r.reloadValues(ctx, mac, dirty); err != nil {
			return "", err
		}
	}
	old := r.fleet[mac]
	if c.Deleted {
		if old == nil || c.Revision < old.version {
			return "", nil
		}
		r.changed(old, nil, dirty)
		r.remove(old)
		delete(dirty, mac)
		return mac, nil
	}
	if old != nil && c.Host.Version < old.version {
		return "", nil // a newer version of the host is already here
	}
	n := project(&c.Host)
	r.changed(old, n, dirty)
	r.put(n)
	if c.Event.Type == inventory.EventAgentConfig {
		dirty[mac] = struct{}{}
	}
	return "", nil
}

// changed adds to dirty the readers of what differs between old and n
// (either may be nil: a host created or deleted).
func (r *renderer) changed(old, n *hostRec, dirty map[string]struct{}) {
	switch {
	case old == nil:
		dirty[n.mac] = struct{}{}
		r.readersOf(readKey{kind: readName, a: n.mac}, dirty)
		r.readersOf(readKey{kind: readName, a: n.hostname}, dirty)
	case n == nil:
		r.readersOf(readKey{kind: readName, a: old.mac}, dirty)
		r.readersOf(readKey{kind: readName, a: old.hostname}, dirty)
	default:
		for _, f := range changedFields(old, n) {
			r.readersOf(readKey{kind: readField, a: n.mac, b: f}, dirty)
			switch f {
			case fieldLabels:
				dirty[n.mac] = struct{}{} // which configs select it
			case fieldHostname:
				r.readersOf(readKey{kind: readName, a: old.hostname}, dirty)
				r.readersOf(readKey{kind: readName, a: n.hostname}, dirty)
			}
		}
	}
	fieldsChanged := old != nil && n != nil && len(changedFields(old, n)) > 0
	for text, sel := range r.selectors {
		if sel == nil {
			continue
		}
		was, is := sel.member(old), sel.member(n)
		if was != is || (was && fieldsChanged) { // who the members are, or what one of them says
			r.readersOf(readKey{kind: readSelector, a: text}, dirty)
		}
	}
}

// reloadValues re-reads what host mac published and adds to dirty the
// readers of each key whose value changed.
func (r *renderer) reloadValues(ctx context.Context, mac string, dirty map[string]struct{}) error {
	vals, err := r.store.PublishedValues(ctx, mac)
	if err != nil {
		return err
	}
	next := make(map[string]string, len(vals))
	for _, v := range vals {
		next[v.Key] = v.Value
	}
	old := r.values[mac]
	for k, v := range next {
		if ov, ok := old[k]; !ok || ov != v {
			r.readersOf(readKey{kind: readValue, a: mac, b: k}, dirty)
		}
	}
	for k := range old {
		if _, ok := next[k]; !ok {
			r.readersOf(readKey{kind: readValue, a: mac, b: k}, dirty)
		}
	}
	if !maps.Equal(old, next) {
		r.values[mac] = next
	}
	return nil
}
