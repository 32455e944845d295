package resources

import "github.com/rackboot/rackboot/agent/engine"

// Watched lets a resource use a shared Watcher; without one it opens its
// own inotify instance for each watch.
type Watched struct {
	FS *Watcher
}

// UseWatcher makes the resource watch through w.
func (x *Watched) UseWatcher(w *Watcher) { x.FS = w }

// ShareWatcher makes every resource of g that watches files use w. Call it
// before Engine.Apply; w must outlive the graph.
func ShareWatcher(g *engine.Graph, w *Watcher) {
	for _, k := range g.Keys() {
		if u, ok := g.Vertex(k).Res.(interface{ UseWatcher(*Watcher) }); ok {
			u.UseWatcher(w)
		}
	}
}
