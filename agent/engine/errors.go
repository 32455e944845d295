package engine

import (
	"errors"
	"strings"
)

// Sentinels callers may branch on with errors.Is.
var (
	ErrDuplicate = errors.New("duplicate resource")
	ErrUnknown   = errors.New("edge names an unknown resource")
	ErrCycle     = errors.New("dependency cycle")
)

// CycleError lists the resources of one dependency cycle, first repeated last.
type CycleError struct {
	Path []Key
}

func (e *CycleError) Error() string {
	parts := make([]string, len(e.Path))
	for i, k := range e.Path {
		parts[i] = k.String()
	}
	return "dependency cycle: " + strings.Join(parts, " -> ")
}

// Unwrap lets errors.Is(err, ErrCycle) match.
func (e *CycleError) Unwrap() error { return ErrCycle }

// ResourceError is a resource's validation error, with the resource's key.
type ResourceError struct {
	Key Key
	Err error
}

func (e *ResourceError) Error() string { return e.Key.String() + ": " + e.Err.Error() }

// Unwrap returns the resource's own error.
func (e *ResourceError) Unwrap() error { return e.Err }
