package inventory

import (
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on. Errors returned by the Store wrap
// one of these (or are an *InvalidError), so errors.Is works.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrConflict   = errors.New("version conflict")
	ErrTransition = errors.New("transition not allowed")
	ErrInvalid    = errors.New("invalid")
	ErrLocked     = errors.New("data dir is in use")
	// ErrUnauthorized is a machine credential (a boot or agent token) that
	// the host's record does not honour: malformed, for another host, or
	// of an earlier generation.
	ErrUnauthorized = errors.New("credential refused")
)

// InvalidError names the field that failed validation and why.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TransitionError is returned when a state change is outside the allow-list.
type TransitionError struct {
	MAC      string
	From, To State
	Reason   string
}

func (e *TransitionError) Error() string {
	msg := fmt.Sprintf("host %s: transition %s → %s not allowed", e.MAC, e.From, e.To)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrTransition) true.
func (e *TransitionError) Unwrap() error { return ErrTransition }
