package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Error is one mistake in a config file, with where it is.
type Error struct {
	Line, Column int
	Resource     string // kind:name, when known
	Field        string // the key at fault, when there is one
	Err          error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("line %d:%d: ", e.Line, e.Column)
	if e.Resource != "" {
		s += e.Resource + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the underlying error (engine.ErrCycle, for example).
func (e *Error) Unwrap() error { return e.Err }

// errAt builds an Error positioned at node n.
func errAt(n *yaml.Node, resource, field string, format string, args ...any) *Error {
	return &Error{Line: n.Line, Column: n.Column, Resource: resource, Field: field, Err: fmt.Errorf(format, args...)}
}

// wrapAt positions an existing error at node n.
func wrapAt(n *yaml.Node, resource, field string, err error) *Error {
	return &Error{Line: n.Line, Column: n.Column, Resource: resource, Field: field, Err: err}
}
