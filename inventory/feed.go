package inventory

import (
	"context"
	"sync"
)

// Change is one committed change to a host, as delivered by the feed.
type Change struct {
	Host    Host  // the host after the change (before it, for a deletion)
	Event   Event // the event that the change wrote (a quiet change's, unstored)
	Deleted bool  // the host is gone
	// Value is set when the change is a value the host published; Host
	// is then the host as it is, unchanged.
	Value *PublishedValue
	// Revision orders changes: the store revision the change committed
	// at (for bbolt, the host's new Version).
	Revision uint64
}

// feed fans committed changes out to subscribers. A subscriber that falls
// more than its buffer behind is dropped (its channel closed) rather than
// allowed to stall writers; it re-reads the Store and subscribes again.
type feed struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

const feedBuffer = 1024

func (f *feed) subscribe(ctx context.Context) <-chan Change {
	ch := make(chan Change, feedBuffer)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[chan Change]struct{})
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() { f.drop(ch) })
	return ch
}

func (f *feed) drop(ch chan Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

func (f *feed) publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- c:
		default:
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		close(ch)
	}
	f.subs = nil
}
