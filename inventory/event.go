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

// chatter are the event types a host may log often (an agent reporting,
// the power poller, refused claims): they are kept apart from the rest, so
// however many come, they never push the host's transitions and the
// operator's actions out of its log. Each class keeps the last
// EventRetention events.
var chatter = map[string]bool{"agent": true, EventAgentConfig: true, "claim-refused": true, "bmc-fault": true, "power": true}

// Chatter reports whether e is of a type logged often.
func (e Event) Chatter() bool { return chatter[e.Type] }
