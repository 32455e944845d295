package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// fake is a resource whose managed "thing" is a bool in memory. drift makes
// it wrong and fires its watch, the way a real file edit would.
type fake struct {
	name    string
	cfg     string // compared by Cmp
	delay   time.Duration
	journal *journal

	mu         sync.Mutex
	correct    bool
	failChecks int // CheckApply calls still to fail
	failRefs   int // Refresh calls still to fail

	trigger     chan struct{}
	watchStarts atomic.Int32
	watching    atomic.Int32
	checks      atomic.Int32
	applies     atomic.Int32
	refreshes   atomic.Int32
	inFlight    *atomic.Int32 // shared across fakes to see parallelism
	maxInFlight *atomic.Int32
}

func newFake(name string, j *journal) *fake {
	return &fake{name: name, journal: j, trigger: make(chan struct{}, 1)}
}

func (f *fake) Kind() string    { return "fake" }
func (f *fake) Name() string    { return f.name }
func (f *fake) Validate() error { return nil }

func (f *fake) Cmp(o Resource) bool {
	g, ok := o.(*fake)
	return ok && g.cfg == f.cfg
}

func (f *fake) Watch(ctx context.Context, events chan<- struct{}) error {
	f.watchStarts.Add(1)
	f.watching.Add(1)
	defer f.watching.Add(-1)
	for {
		select {
		case events <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-f.trigger:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *fake) CheckApply(ctx context.Context, apply bool) (bool, error) {
	f.checks.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failChecks > 0 {
		f.failChecks--
		return false, errors.New("injected failure")
	}
	if f.correct {
		return true, nil
	}
	if apply {
		f.work()
		f.correct = true
		f.applies.Add(1)
		f.journal.add(f.name)
		f.fire() // fixing the thing is seen by its own watch, as on a host
	}
	return false, nil
}

func (f *fake) work() {
	if f.inFlight != nil {
		n := f.inFlight.Add(1)
		for m := f.maxInFlight.Load(); n > m && !f.maxInFlight.CompareAndSwap(m, n); m = f.maxInFlight.Load() {
		}
		defer f.inFlight.Add(-1)
	}
	time.Sleep(f.delay)
}

func (f *fake) fire() {
	select {
	case f.trigger <- struct{}{}:
	default:
	}
}

func (f *fake) drift() {
	f.mu.Lock()
	f.correct = false
	f.mu.Unlock()
	f.fire()
}

func (f *fake) isCorrect() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.correct
}

// refresher is a fake that also acts on refresh.
type refresher struct{ *fake }

func (r refresher) Refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failRefs > 0 {
		r.failRefs--
		return errors.New("injected refresh failure")
	}
	r.refreshes.Add(1)
	r.journal.add("refresh " + r.name)
	return nil
}

// journal records the order of changes across fakes.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}
