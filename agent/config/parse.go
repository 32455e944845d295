package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rackboot/rackboot/agent/engine"
)

// metaParams are the engine metaparameters as written in a file.
type metaParams struct {
	Retry int           `yaml:"retry"`
	Delay time.Duration `yaml:"delay"`
	Poll  time.Duration `yaml:"poll"`
	Limit float64       `yaml:"limit"`
	Burst int           `yaml:"burst"`
	Noop  bool          `yaml:"noop"`
}

// Parse reads a config file into a validated graph. The first mistake is
// returned as an *Error.
func Parse(data []byte) (*engine.Graph, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if len(doc.Content) == 0 {
		return engine.NewGraph(), nil // an empty file manages nothing
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, errAt(list, "", "", "the config must be a list of resources")
	}
	p := &parser{g: engine.NewGraph(), items: map[engine.Key]*item{}}
	for _, n := range list.Content {
		if err := p.add(n); err != nil {
			return nil, err
		}
	}
	if err := p.connect(); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p.g, nil
}

type parser struct {
	g     *engine.Graph
	items map[engine.Key]*item
	order []*item
	edges map[[2]engine.Key]*yaml.Node // where each edge was written
}

// add decodes one resource and adds it to the graph.
func (p *parser) add(n *yaml.Node) error {
	it, err := splitItem(n)
	if err != nil {
		return err
	}
	res := newResource(it.kind)
	if res == nil {
		return errAt(it.kindNode, "", "kind", "unknown kind %q (known: %s)", it.kind, strings.Join(Kinds(), ", "))
	}
	res.SetName(it.name)
	if err := decodeStrict(res, it.params, it.ref()); err != nil {
		return err
	}
	meta, err := decodeMeta(it)
	if err != nil {
		return err
	}
	if err := validateAt(res, it); err != nil {
		return err
	}
	key := engine.KeyOf(res)
	if first := p.items[key]; first != nil {
		return errAt(n, it.ref(), "", "duplicate resource (first defined at line %d)", first.node.Line)
	}
	p.items[key], p.order = it, append(p.order, it)
	return p.g.Add(res, meta)
}

func decodeMeta(it *item) (engine.Meta, error) {
	var m metaParams
	if it.meta == nil {
		return engine.Meta{}, nil
	}
	var params []param
	for i := 0; i+1 < len(it.meta.Content); i += 2 {
		params = append(params, param{key: it.meta.Content[i], value: it.meta.Content[i+1]})
	}
	if err := decodeStrict(&m, params, it.ref()); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Field = "meta." + e.Field
		}
		return engine.Meta{}, err
	}
	return engine.Meta(m), nil
}

// validateAt runs the resource's Validate and points at the parameter its
// error names ("mode: ..."), or at the resource when it names none.
func validateAt(res resource, it *item) error {
	err := res.Validate()
	if err == nil {
		return nil
	}
	field, msg, _ := strings.Cut(err.Error(), ": ")
	base, _, _ := strings.Cut(field, "[")
	for _, pr := range it.params {
		if pr.key.Value == base {
			return errAt(pr.value, it.ref(), field, "%s", msg)
		}
	}
	return wrapAt(it.node, it.ref(), "", err)
}
