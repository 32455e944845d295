package config

import (
	"errors"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rackboot/rackboot/agent/engine"
)

// connect turns every require and notify reference into an edge.
func (p *parser) connect() error {
	p.edges = map[[2]engine.Key]*yaml.Node{}
	for _, it := range p.order {
		self := engine.Key{Kind: it.kind, Name: it.name}
		for _, r := range it.require {
			if err := p.edge(it, r, "require", self, false); err != nil {
				return err
			}
		}
		for _, r := range it.notify {
			if err := p.edge(it, r, "notify", self, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// edge adds one reference: "require: [X]" on R means X before R; "notify:
// [X]" on R means R before X, with a refresh.
func (p *parser) edge(it *item, ref *yaml.Node, field string, self engine.Key, notify bool) error {
	kind, name, ok := strings.Cut(ref.Value, ":")
	other := engine.Key{Kind: kind, Name: name}
	switch {
	case !ok || kind == "" || name == "":
		return errAt(ref, it.ref(), field, "%q is not a kind:name reference", ref.Value)
	case p.items[other] == nil:
		return errAt(ref, it.ref(), field, "%q names no resource in this file", ref.Value)
	case other == self:
		return errAt(ref, it.ref(), field, "a resource cannot refer to itself")
	}
	from, to := other, self
	if notify {
		from, to = self, other
	}
	p.edges[[2]engine.Key{from, to}] = ref
	p.g.Connect(from, to, notify)
	return nil
}

// validate runs the graph checks and positions their errors: a cycle at
// the reference that closes it, a metaparameter at its resource.
func (p *parser) validate() error {
	err := p.g.Validate()
	var ce *engine.CycleError
	if errors.As(err, &ce) && len(ce.Path) >= 2 {
		last := [2]engine.Key{ce.Path[len(ce.Path)-2], ce.Path[len(ce.Path)-1]}
		if n := p.edges[last]; n != nil {
			return wrapAt(n, "", "", err)
		}
	}
	var re *engine.ResourceError
	if errors.As(err, &re) && p.items[re.Key] != nil {
		return wrapAt(p.items[re.Key].node, re.Key.String(), "", re.Err)
	}
	return err
}
