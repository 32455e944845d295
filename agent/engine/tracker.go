package engine

import (
	"sync"
	"time"
)

// tracker keeps every resource's Status and decides convergence: nothing
// unsettled for the quiet period. Events are emitted under its lock, so the
// caller sees them serially and in order.
type tracker struct {
	mu        sync.Mutex
	quiet     time.Duration
	now       func() time.Time
	emit      func(Event)
	statuses  map[Key]*Status
	unsettled int
	converged bool
	gen       uint64 // bumped on every change; a quiet timer only fires for its own gen
	timer     *time.Timer
	closed    bool
}

func newTracker(quiet time.Duration, now func() time.Time, emit func(Event)) *tracker {
	return &tracker{quiet: quiet, now: now, emit: emit, statuses: map[Key]*Status{}}
}

// add registers a new resource as pending.
func (t *tracker) add(k Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.statuses[k] = &Status{Key: k, State: StatePending}
	t.unsettled++
	t.changed()
}

// remove forgets a stopped resource.
func (t *tracker) remove(k Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.statuses[k]; s != nil && !s.State.settled() {
		t.unsettled--
	}
	delete(t.statuses, k)
	t.changed()
}

// update applies fn to k's status and emits the result.
func (t *tracker) update(k Key, fn func(*Status)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.statuses[k]
	if s == nil || t.closed {
		return
	}
	was := s.State.settled()
	fn(s)
	switch now := s.State.settled(); {
	case was && !now:
		t.unsettled++
	case !was && now:
		t.unsettled--
	}
	t.send(Event{Type: EventResource, Resource: *s})
	t.changed()
}

// touch re-arms convergence after a graph swap that changed no status (an
// empty graph, or one where every resource was kept).
func (t *tracker) touch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changed()
}
