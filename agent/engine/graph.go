package engine

import "fmt"

// Graph is a set of resources and the edges between them. Build it with Add
// and Connect, then hand it to Engine.Apply; it is not safe for concurrent use
// while being built and must not be changed after Apply.
type Graph struct {
	vertices map[Key]*Vertex
	order    []Key // insertion order, so errors and start-up are deterministic
	edges    []Edge
}

// Vertex is a resource with its metaparameters.
type Vertex struct {
	Res  Resource
	Meta Meta
}

// Edge orders To after From: To is checked only while From is correct.
// With Notify, a real change made by From sends To a refresh.
type Edge struct {
	From, To Key
	Notify   bool
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{vertices: map[Key]*Vertex{}}
}

// Add adds a resource. A second resource with the same kind and name is an error.
func (g *Graph) Add(res Resource, meta Meta) error {
	k := KeyOf(res)
	if _, dup := g.vertices[k]; dup {
		return fmt.Errorf("add %s: %w", k, ErrDuplicate)
	}
	g.vertices[k] = &Vertex{Res: res, Meta: meta}
	g.order = append(g.order, k)
	return nil
}

// Connect adds an edge from one resource to another. Unknown keys are
// reported by Validate, so a graph can be built in any order.
func (g *Graph) Connect(from, to Key, notify bool) {
	g.edges = append(g.edges, Edge{From: from, To: to, Notify: notify})
}

// Keys returns the resource keys in insertion order.
func (g *Graph) Keys() []Key { return append([]Key(nil), g.order...) }

// Vertex returns the vertex for k, or nil.
func (g *Graph) Vertex(k Key) *Vertex { return g.vertices[k] }

// Edges returns a copy of the edges.
func (g *Graph) Edges() []Edge { return append([]Edge(nil), g.edges...) }

// Len is the number of resources.
func (g *Graph) Len() int { return len(g.order) }
