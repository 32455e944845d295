package dhcp

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// recordingStore is a LeaseStore that logs writes and sends in one
// sequence, and fails writes while fail is set.
type recordingStore struct {
	mu   sync.Mutex
	log  []string
	fail bool
}

func (r *recordingStore) Leases() ([]inventory.Lease, error) { return nil, nil }

func (r *recordingStore) WriteLeases(_ context.Context, changes []inventory.LeaseChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		r.log = append(r.log, "write failed")
		return errors.New("disk full")
	}
	r.log = append(r.log, "write "+strconv.Itoa(len(changes)))
	return nil
}

func (r *recordingStore) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *recordingStore) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// TestCommitterSendsOnlyAfterCommit: replies go out after the batch that
// holds their change is written, batches stay within max, and a failed
// write sends nothing.
func TestCommitterSendsOnlyAfterCommit(t *testing.T) {
	store := &recordingStore{}
	c := newCommitter(store, 3, slog.New(slog.DiscardHandler), &counters{})
	for i := range 5 { // queued before run starts: batches of 3 and 2
		c.enqueue(pending{change: &inventory.LeaseChange{}, send: func() { store.note("send " + strconv.Itoa(i)) }})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	waitLog(t, store, 7)
	want := []string{"write 3", "send 0", "send 1", "send 2", "write 2", "send 3", "send 4"}
	if got := store.events(); !slices.Equal(got, want) {
		t.Fatalf("sequence %q, want %q", got, want)
	}

	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	c.enqueue(pending{change: &inventory.LeaseChange{}, send: func() { store.note("send after failure") }})
	waitLog(t, store, 8)
	time.Sleep(50 * time.Millisecond) // a wrong send would come right after the write
	if got := store.events(); got[7] != "write failed" || len(got) != 8 {
		t.Fatalf("after a failed write: %q", got[7:])
	}
	if c.stats.commitErrors.Load() != 1 || c.stats.commits.Load() != 5 || c.stats.commitBatches.Load() != 2 {
		t.Errorf("counters: errors %d, commits %d, batches %d", c.stats.commitErrors.Load(), c.stats.commits.Load(), c.stats.commitBatches.Load())
	}
	cancel()
	<-done
}

func waitLog(t *testing.T, r *recordingStore, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(r.events()) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %q, want %d entries", r.events(), n)
		}
	}
}

// TestReservationsReloadForgetsDeletedHosts: a reload (what follow does
// after its feed was dropped) leaves no reservation of a host deleted in
// between.
func TestReservationsReloadForgetsDeletedHosts(t *testing.T) {
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.CreateHost(ctx, inventory.Host{MAC: mac(1).String(), IP: "10.0.0.100"}, "test")
	db.CreateHost(ctx, inventory.Host{MAC: mac(2).String(), IP: "10.0.0.101"}, "test")
	r := newReservations()
	if err := r.load(ctx, db); err != nil {
		t.Fatal(err)
	}
	ip100, ip101 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")
	if !r.forOther(ip100, mac(3).String()) || !r.forOther(ip101, mac(3).String()) {
		t.Fatal("loaded reservations not held")
	}
	if err := db.DeleteHost(ctx, mac(1).String(), "test"); err != nil {
		t.Fatal(err)
	}
	if err := r.load(ctx, db); err != nil {
		t.Fatal(err)
	}
	if r.forOther(ip100, mac(3).String()) {
		t.Error("the deleted host's address is still reserved after a reload")
	}
	if !r.forOther(ip101, mac(3).String()) || r.forOther(ip101, mac(2).String()) {
		t.Error("the remaining host's reservation is wrong after a reload")
	}
}
