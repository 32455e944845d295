package inventory

import "slices"

// State is where a host is in its lifecycle. Stored as a lowercase string.
type State string

// The lifecycle states of DESIGN.md.
const (
	StateDiscovered State = "discovered"
	StateInspecting State = "inspecting"
	StateReady      State = "ready"
	StateDeploying  State = "deploying"
	StateDeployed   State = "deployed"
	StateActive     State = "active"
	StateFailed     State = "failed"
)

// States lists every state in lifecycle order.
var States = []State{StateDiscovered, StateInspecting, StateReady, StateDeploying, StateDeployed, StateActive, StateFailed}

// ParseState returns the State named s, or an *InvalidError naming it.
func ParseState(s string) (State, error) {
	st := State(s)
	if !slices.Contains(States, st) {
		return "", invalid("state", "unknown state %q (want one of %v)", s, States)
	}
	return st, nil
}

// allowed is the explicit allow-list of transitions. Anything not listed is
// refused. failed → X is listed for every X that can fail, and is further
// restricted to the state the host left (see CheckTransition).
var allowed = map[State][]State{
	StateDiscovered: {StateInspecting},
	StateInspecting: {StateReady, StateFailed},
	StateReady:      {StateDeploying, StateReady, StateInspecting, StateFailed},
	StateDeploying:  {StateDeployed, StateFailed},
	StateDeployed:   {StateActive, StateReady, StateFailed},
	StateActive:     {StateReady},
	StateFailed:     {StateInspecting, StateReady, StateDeploying, StateDeployed},
}

// Allowed reports whether from → to is on the allow-list, ignoring the
// extra rule that a failed host may only return to the state it left.
func Allowed(from, to State) bool { return slices.Contains(allowed[from], to) }

// CheckTransition reports whether h may move to state to, and why not.
func CheckTransition(h *Host, to State) error {
	if !Allowed(h.State, to) {
		return &TransitionError{MAC: h.MAC, From: h.State, To: to}
	}
	if h.State == StateFailed && h.Failure != nil && h.Failure.From != to {
		return &TransitionError{MAC: h.MAC, From: h.State, To: to,
			Reason: "a failed host returns only to the state it left (" + string(h.Failure.From) + ")"}
	}
	return nil
}

// InProgress reports whether s is a state the appliance is waiting to leave,
// and so is subject to a timeout.
func (s State) InProgress() bool { return s == StateInspecting || s == StateDeploying }
