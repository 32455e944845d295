package inventory

import (
	"context"

	"github.com/rackboot/rackboot/machineapi"
)

// Store is the inventory as the rest of rackboot sees it: hosts with their
// event logs, the secrets sealed with the appliance's key, DHCP leases and
// agent configs. Reads of hosts come from memory; every write is one
// transaction, acknowledged only after it committed, and shows on the
// change feed. DB (bbolt, one appliance) and Etcd (several appliances
// sharing one inventory) implement it; the conformance tests run against
// both.
type Store interface {
	HostStore
	LeaseStore
	ConfigStore
	ValueStore
	Close() error
}

// HostStore keeps hosts and their events.
type HostStore interface {
	// Host returns the host with the given (normalised) MAC.
	Host(ctx context.Context, mac string) (Host, error)
	// Hosts returns one page of hosts matching q, ordered by MAC.
	Hosts(ctx context.Context, q Query) (Page, error)
	// CountByState returns how many hosts are in each state.
	CountByState() map[State]int
	// Events returns up to limit events of a host, newest first.
	Events(ctx context.Context, mac string, limit int) ([]Event, error)

	// CreateHost stores a new host (state discovered unless it names one)
	// with a fresh Credentials.UID; ErrExists if the MAC is known.
	CreateHost(ctx context.Context, h Host, actor string) (Host, error)
	// ModifyHost is the one write of an existing host: fn edits a copy
	// of the stored host and says, in the Edit it returns, which state to
	// move to and what to log. The store checks the result (Validate, the
	// lifecycle's allow-list for a state change, version when non-zero)
	// and stores it with one event, in one transaction. fn may run more
	// than once, so it must derive everything from the host it is given.
	// An edit that changes nothing stores nothing.
	ModifyHost(ctx context.Context, mac string, version uint64, fn func(*Host) (Edit, error)) (Host, error)
	// DeleteHost removes a host and its events.
	DeleteHost(ctx context.Context, mac, actor string) error
	// AppendEvent logs an event that is not a state change.
	AppendEvent(ctx context.Context, mac string, e Event) error

	// BMCPassword returns a host's unsealed BMC password, for the power
	// controller; it never travels in a Host value.
	BMCPassword(ctx context.Context, mac string) (string, error)
	// DeploySeed returns the seed sealed with the host's deploy request.
	DeploySeed(ctx context.Context, mac string) (machineapi.Seed, error)
	// DeriveKey returns a key for one purpose (boot tokens, agent tokens),
	// derived from the appliance's sealing key.
	DeriveKey(purpose string) []byte

	// Subscribe returns a feed of committed changes until ctx ends.
	Subscribe(ctx context.Context) <-chan Change
	// Revision grows with every committed write of any kind.
	Revision() uint64
}

// Edit is what one domain action does to a host besides its fields: the
// state to move to, and the event that records it.
type Edit struct {
	// To is the state to move to; empty stays. It may be the current state
	// (a ready host released again), which still counts as a transition.
	To State
	// Type is the event's type when there is no transition; default
	// "updated". A transition's event is always "transition".
	Type  string
	Cause string
	Actor string
	// Quiet stores a change that is not worth an event (deploy progress,
	// a polled power state already logged).
	Quiet bool
}

// LeaseStore keeps DHCP leases across restarts.
type LeaseStore interface {
	// Leases returns every stored lease, expired ones included.
	Leases() ([]Lease, error)
	// WriteLeases applies the changes, in order, in one transaction.
	WriteLeases(ctx context.Context, changes []LeaseChange) error
}

// ConfigStore keeps the agent configs and the label-selected user-data.
type ConfigStore interface {
	UserDataStore
	AgentConfig(ctx context.Context, name string) (AgentConfig, error)
	AgentConfigs(ctx context.Context) ([]AgentConfig, error)
	AgentConfigsFor(ctx context.Context, labels map[string]string) ([]AgentConfig, error)
	CreateAgentConfig(ctx context.Context, c AgentConfig, actor string) (AgentConfig, error)
	PutAgentConfig(ctx context.Context, c AgentConfig, version uint64, actor string) (AgentConfig, bool, error)
	DeleteAgentConfig(ctx context.Context, name, actor string) error
}

// ValueStore keeps the values hosts' agents publish (export resources) for
// other hosts' configs to read.
type ValueStore interface {
	// PublishValue stores v under its host and key, replacing what was
	// there, in one transaction that logs a published event on the host;
	// the change shows on the feed with Change.Value set. It reports
	// whether anything changed: publishing the stored value stores
	// nothing. ErrNotFound for an unknown host, an *InvalidError for a key
	// or value of the wrong shape (PublishedValue.Validate) or one key too
	// many. DeleteHost drops a host's values with it.
	PublishValue(ctx context.Context, v PublishedValue, actor string) (PublishedValue, bool, error)
	// PublishedValues returns the values host mac published, ordered by
	// key; with mac "", every host's, ordered by MAC and key.
	PublishedValues(ctx context.Context, mac string) ([]PublishedValue, error)
}
