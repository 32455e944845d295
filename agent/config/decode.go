package config

import (
	"errors"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// param is one key/value pair of a resource's mapping.
type param struct {
	key, value *yaml.Node
}

// decodeStrict sets the fields of the struct out points to from params,
// one field at a time, so an unknown key or a wrong type is reported at its
// own line with its own name. yaml.v3's KnownFields works on a Decoder over
// bytes only, not on a Node, and would lose the positions.
func decodeStrict(out any, params []param, resource string) error {
	fields := yamlFields(reflect.ValueOf(out).Elem())
	for _, p := range params {
		f, ok := fields[p.key.Value]
		if !ok {
			return errAt(p.key, resource, p.key.Value, "unknown parameter (known: %s)", strings.Join(sortedKeys(fields), ", "))
		}
		if err := p.value.Decode(f.Addr().Interface()); err != nil {
			return wrapAt(p.value, resource, p.key.Value, cleanYAMLError(err))
		}
	}
	return nil
}

// yamlFields maps yaml tag names to the settable fields of v; fields tagged
// "-" (test seams, the name) are not parameters.
func yamlFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !t.Field(i).IsExported() {
			continue
		}
		out[tag] = v.Field(i)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cleanYAMLError drops yaml.v3's own "yaml: unmarshal errors: line N:"
// prefix: the position is already in our Error.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
			msg = msg[i+2:]
		}
		return plainError(msg)
	}
	return err
}

type plainError string

func (e plainError) Error() string { return string(e) }
