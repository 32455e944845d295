package engine

import "time"

// State is where one resource stands.
type State string

const (
	StatePending  State = "pending"  // not checked yet, or waiting for a require
	StateApplying State = "applying" // CheckApply (or Refresh) is running
	StateOK       State = "ok"       // correct as of the last check
	StateDrift    State = "drift"    // differs from the desired state, left alone (noop)
	StateFailed   State = "failed"   // the last check, fix or watch failed; see Err
)

// settled reports whether the engine has nothing more to do for the resource
// until something changes. A noop resource that drifted is settled: the
// engine will not touch it, so it must not hold convergence back forever.
func (s State) settled() bool { return s == StateOK || s == StateDrift }

// Status is the last known state of one resource.
type Status struct {
	Key        Key
	State      State
	Err        error     // set when State is StateFailed
	LastChange time.Time // last time the engine changed the resource (zero: never)
	Applies    int       // real changes made (CheckApply fixes plus refreshes)
	Checks     int       // CheckApply calls
}

// EventType says what an Event reports.
type EventType int

const (
	EventResource    EventType = iota // a resource's Status changed
	EventConverged                    // every resource settled for the quiet period
	EventUnconverged                  // something is pending again after convergence
)

func (t EventType) String() string {
	switch t {
	case EventResource:
		return "resource"
	case EventConverged:
		return "converged"
	case EventUnconverged:
		return "unconverged"
	}
	return "unknown"
}

// Event is one status report for the caller.
type Event struct {
	Type     EventType
	Time     time.Time
	Resource Status // for EventResource
}
