package run

import (
	"errors"
	"fmt"

	"github.com/rackboot/rackboot/agent/config"
	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/machineapi"
)

// ErrConflict is returned when two configs of one host manage the same
// resource (same kind and name).
var ErrConflict = errors.New("resource in two configs")

// merge parses every config on its own (references never cross configs:
// each was validated alone when stored) and joins them into one graph. It
// is all or nothing: one config that fails, or one resource claimed by two
// configs, refuses the whole graph, so a host never runs half of what its
// operator wrote.
func merge(configs []machineapi.GraphConfig) (*engine.Graph, error) {
	out := engine.NewGraph()
	owner := map[engine.Key]string{}
	for _, c := range configs {
		g, err := config.Parse([]byte(c.Body))
		if err != nil {
			return nil, fmt.Errorf("config %s v%d: %w", c.Name, c.Version, err)
		}
		for _, k := range g.Keys() {
			if first, dup := owner[k]; dup {
				return nil, fmt.Errorf("%w: %s is in config %s and config %s", ErrConflict, k, first, c.Name)
			}
			owner[k] = c.Name
			v := g.Vertex(k)
			if err := out.Add(v.Res, v.Meta); err != nil {
				return nil, err
			}
		}
		for _, e := range g.Edges() {
			out.Connect(e.From, e.To, e.Notify)
		}
	}
	return out, nil
}
