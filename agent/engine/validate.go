package engine

import (
	"errors"
	"fmt"
)

// Validate checks every resource and its metaparameters, that every edge
// names resources of the graph, and that the edges form no cycle.
func (g *Graph) Validate() error {
	for _, k := range g.order {
		v := g.vertices[k]
		if err := v.Res.Validate(); err != nil {
			return &ResourceError{Key: k, Err: err}
		}
		if err := v.Meta.validate(); err != nil {
			return &ResourceError{Key: k, Err: err}
		}
	}
	for _, e := range g.edges {
		if err := g.checkEdge(e); err != nil {
			return err
		}
	}
	return g.findCycle()
}

func (g *Graph) checkEdge(e Edge) error {
	for _, k := range []Key{e.From, e.To} {
		if g.vertices[k] == nil {
			return fmt.Errorf("edge %s -> %s: %s: %w", e.From, e.To, k, ErrUnknown)
		}
	}
	if e.From == e.To {
		return &CycleError{Path: []Key{e.From, e.From}}
	}
	return nil
}

func (m Meta) validate() error {
	switch {
	case m.Retry < -1:
		return errors.New("meta retry: must be -1 (forever) or more")
	case m.Delay < 0:
		return errors.New("meta delay: must not be negative")
	case m.Poll < 0:
		return errors.New("meta poll: must not be negative")
	case m.Limit < 0:
		return errors.New("meta limit: must not be negative")
	case m.Burst < 0:
		return errors.New("meta burst: must not be negative")
	}
	return nil
}
