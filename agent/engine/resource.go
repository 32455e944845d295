package engine

import (
	"context"
	"time"
)

// Resource is one thing on the host the engine keeps in its desired state.
type Resource interface {
	// Kind is the resource type, for example "file".
	Kind() string
	// Name identifies the resource among those of its kind.
	Name() string
	// Validate reports a configuration error, naming the field at fault.
	Validate() error
	// Watch runs until ctx is done. It sends one event as soon as it is
	// watching (so drift from before the start is caught), then one whenever
	// the managed thing may have changed. Extra events are harmless; a missed
	// one is a bug. Returning nil before ctx is done means nothing more will
	// ever change; returning an error makes the engine restart the watch.
	Watch(ctx context.Context, events chan<- struct{}) error
	// CheckApply returns (true, nil) when the thing is already correct,
	// (false, nil) when it was fixed (or would be, when apply is false), and
	// (false, err) when checking or fixing failed.
	CheckApply(ctx context.Context, apply bool) (ok bool, err error)
	// Cmp reports whether other has the same kind and desired configuration,
	// so a new graph can keep this resource running.
	Cmp(other Resource) bool
}

// Refresher is implemented by resources that act on a refresh signal sent
// along a notify edge (restart a service, run a refresh-only command). The
// engine calls Refresh after a successful CheckApply while a refresh is
// pending, and clears the refresh only when Refresh succeeds.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// Meta holds the engine-side parameters of one resource. The zero value
// means: no retry, watch (not poll), no rate limit, apply changes.
type Meta struct {
	Retry int           // retries after a failed CheckApply; -1 retries forever
	Delay time.Duration // pause between retries
	Poll  time.Duration // when > 0, Watch is replaced by a ticker of this period
	Limit float64       // CheckApply calls per second; 0 means unlimited
	Burst int           // CheckApply calls allowed at once above Limit; at least 1
	Noop  bool          // check only, never change anything
}

// Key names a resource in a graph: kind and name.
type Key struct {
	Kind string
	Name string
}

// KeyOf returns the key of r.
func KeyOf(r Resource) Key { return Key{Kind: r.Kind(), Name: r.Name()} }

func (k Key) String() string { return k.Kind + ":" + k.Name }
