package inventory

import "time"

// Event is one entry of a host's append-only log. From and To are set for
// state transitions and empty for other notable happenings (a BMC action,
// a wipe done, an agent's report). Progress is not an event: it is data
// on the host (Host.Progress).
type Event struct {
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"`
	Type  string    `json:"type"` // "transition", "created", "updated", …
	From  State     `json:"from,omitempty"`
	To    State     `json:"to,omitempty"`
	Cause string    `json:"cause,omitempty"`
	Actor string    `json:"actor,omitempty"`
}

// Event types written by the Store itself.
const (
	EventCreated    = "created"
	EventUpdated    = "updated"
	EventTransition = "transition"
	EventDeleted    = "deleted"
)
