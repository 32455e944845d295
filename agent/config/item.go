package config

import (
	"gopkg.in/yaml.v3"
)

// item is one resource entry of the file, split into its common keys and
// its kind-specific parameters.
type item struct {
	node     *yaml.Node // the mapping
	kind     string
	kindNode *yaml.Node
	name     string
	meta     *yaml.Node   // nil when absent
	require  []*yaml.Node // scalar "kind:name" references
	notify   []*yaml.Node
	params   []param
}

func (it *item) ref() string { return it.kind + ":" + it.name }

// splitItem checks the entry's shape and sorts its keys.
func splitItem(n *yaml.Node) (*item, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "", "", "a resource must be a mapping with kind and name")
	}
	it := &item{node: n}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, errAt(k, "", k.Value, "duplicate key")
		}
		seen[k.Value] = true
		if err := it.take(k, v); err != nil {
			return nil, err
		}
	}
	return it, it.checkRequired()
}

// take files one key/value pair under the right heading.
func (it *item) take(k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "kind":
		it.kind, err = scalar(v, "kind")
		it.kindNode = v
	case "name":
		it.name, err = scalar(v, "name")
	case "meta":
		if v.Kind != yaml.MappingNode {
			return errAt(v, "", "meta", "must be a mapping")
		}
		it.meta = v
	case "require":
		it.require, err = refList(v, "require")
	case "notify":
		it.notify, err = refList(v, "notify")
	default:
		it.params = append(it.params, param{key: k, value: v})
	}
	return err
}

func (it *item) checkRequired() error {
	switch {
	case it.kind == "":
		return errAt(it.node, "", "kind", "missing")
	case it.name == "":
		return errAt(it.node, it.kind+":", "name", "missing")
	}
	return nil
}

// scalar reads a non-empty scalar.
func scalar(v *yaml.Node, field string) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Value == "" {
		return "", errAt(v, "", field, "must be a non-empty string")
	}
	return v.Value, nil
}

// refList reads a list of references; a single reference may stand alone.
func refList(v *yaml.Node, field string) ([]*yaml.Node, error) {
	if v.Kind == yaml.ScalarNode {
		return []*yaml.Node{v}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v, "", field, "must be a list of kind:name references")
	}
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			return nil, errAt(e, "", field, "must be a kind:name reference")
		}
	}
	return v.Content, nil
}
