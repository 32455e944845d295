package inventory

import "context"

// Store keeps hosts and their events durable. Reads come from memory;
// every write is one bbolt transaction, acknowledged only after commit.
type Store interface {
	// Host returns the host with the given (normalised) MAC.
	Host(ctx context.Context, mac string) (Host, error)
	// Hosts returns one page of hosts matching q, ordered by MAC.
	Hosts(ctx context.Context, q Query) (Page, error)
	// CreateHost stores a new host; ErrExists if the MAC is known.
	CreateHost(ctx context.Context, h Host, actor string) (Host, error)
	// UpdateHost applies fn to the stored host and stores the result with
	// ev in its log (ev.Type defaults to "updated"; its time is set). When
	// version is non-zero it must equal the stored version (ErrConflict
	// otherwise). fn must not change MAC, State or Version; state changes
	// go through Transition. An update that changes nothing is not stored.
	UpdateHost(ctx context.Context, mac string, version uint64, fn func(*Host) error, ev Event) (Host, error)
	// Transition moves a host to state to if the lifecycle allows it, and
	// logs the event. Moving to failed records cause and the state left.
	Transition(ctx context.Context, mac string, to State, cause, actor string) (Host, error)
	// DeleteHost removes a host and its events.
	DeleteHost(ctx context.Context, mac, actor string) error
	// Events returns up to limit events of a host, newest first.
	Events(ctx context.Context, mac string, limit int) ([]Event, error)
	// AppendEvent logs an event that is not a state change.
	AppendEvent(ctx context.Context, mac string, e Event) error
	// BMCPassword returns a host's unsealed BMC password, for the power
	// controller; it never travels in a Host value.
	BMCPassword(ctx context.Context, mac string) (string, error)
	// CountByState returns how many hosts are in each state.
	CountByState() map[State]int
	// Subscribe returns a feed of committed changes until ctx ends.
	Subscribe(ctx context.Context) <-chan Change
	Close() error
}
