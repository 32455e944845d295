package web

import "encoding/json"

// opt is a PATCH field: Set tells whether the key was present at all, so
// absent (leave alone) differs from null (clear) and from a value.
type opt[T any] struct {
	Set   bool
	Value *T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	o.Value = new(T)
	return json.Unmarshal(b, o.Value)
}

// apply sets *dst from o when o was given; null sets the zero value.
func (o opt[T]) apply(dst *T) {
	if !o.Set {
		return
	}
	var zero T
	*dst = zero
	if o.Value != nil {
		*dst = *o.Value
	}
}
