package fleetconfig

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// flakyStore fails its first reads of the configs, and hands out a first
// subscription the test can cut.
type flakyStore struct {
	inventory.Store
	fails atomic.Int32
	first chan inventory.Change
	subs  atomic.Int32
}

func (s *flakyStore) AgentConfigs(ctx context.Context) ([]inventory.AgentConfig, error) {
	if s.fails.Add(-1) >= 0 {
		return nil, errors.New("disk on fire")
	}
	return s.Store.AgentConfigs(ctx)
}

func (s *flakyStore) Subscribe(ctx context.Context) <-chan inventory.Change {
	if s.subs.Add(1) == 1 && s.first != nil {
		return s.first
	}
	return s.Store.Subscribe(ctx)
}

// TestRunSurvivesStoreErrors: a round that cannot read the Store is tried
// again, and the graphs come once it can.
func TestRunSurvivesStoreErrors(t *testing.T) {
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.CreateHost(ctx, inventory.Host{MAC: macA, Hostname: "a", State: inventory.StateActive, Labels: map[string]string{"rack": "r1"}}, "test")
	db.PutAgentConfig(ctx, inventory.AgentConfig{Name: "hosts", Selector: map[string]string{"rack": "r1"}, Body: hostsConfig}, 0, "test")
	fs := &flakyStore{Store: db}
	fs.fails.Store(2)
	g := &Graphs{Store: fs}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	graph, err := g.Wait(wctx, macA, "")
	if err != nil || len(graph.Configs) != 1 || fs.fails.Load() >= 0 {
		t.Fatalf("graph after two failed reads: %+v, %v (fails left %d)", graph, err, fs.fails.Load())
	}
}

// TestLostFeedReadsTheFleetAgain: when the Store drops the subscription
// (it fell behind), the whole fleet is read and rendered again; graphs
// that come out the same wake nobody.
func TestLostFeedReadsTheFleetAgain(t *testing.T) {
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, mac := range []string{macA, macB} {
		db.CreateHost(ctx, inventory.Host{MAC: mac, IP: "10.0.0.1", State: inventory.StateActive, Labels: map[string]string{"rack": "r1"}}, "test")
	}
	db.PutAgentConfig(ctx, inventory.AgentConfig{Name: "hosts", Selector: map[string]string{"rack": "r1"}, Body: hostsConfig}, 0, "test")
	fs := &flakyStore{Store: db, first: make(chan inventory.Change)}
	rounds := make(chan roundInfo, 10)
	g := &Graphs{Store: fs, onRound: func(r roundInfo) { rounds <- r }}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	next := func() roundInfo {
		select {
		case r := <-rounds:
			slices.Sort(r.rendered)
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no round")
		}
		return roundInfo{}
	}
	if r := next(); len(r.rendered) != 2 || len(r.woken) != 2 {
		t.Fatalf("first round: %+v", r)
	}
	close(fs.first) // the Store dropped the subscription
	if r := next(); !slices.Equal(r.rendered, []string{macA, macB}) || len(r.woken) != 0 {
		t.Fatalf("round after the feed was lost: %+v, want both rendered, nobody woken", r)
	}
	db.UpdateHost(ctx, macB, 0, func(h *inventory.Host) error { h.IP = "10.0.0.2"; return nil }, inventory.Event{})
	if r := next(); len(r.woken) != 2 {
		t.Fatalf("a change on the new subscription: %+v", r)
	}
}
