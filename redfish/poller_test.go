package redfish

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rackboot/rackboot/redfish/virtual"
)

func TestPollerFaultAfterConsecutiveFailuresAndClear(t *testing.T) {
	noLeaks(t)
	bmc, err := virtual.New(virtual.Config{Username: "admin", Password: "secret", Machine: &virtual.Simulated{}})
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	target := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		bmc.ServeHTTP(w, r)
	}))
	cfg := fastConfig(t)
	cfg.MaxAttempts = 1

	var mu sync.Mutex
	var reports []Report
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &Poller{Controller: New(cfg), Targets: []Target{target}, Interval: 20 * time.Millisecond, FaultAfter: 3,
		Report: func(r Report) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, r)
			if len(reports) == 4 {
				broken.Store(false)
			}
			if r.Err == nil {
				cancel()
			}
		}}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("poller did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []bool{false, false, true, true, false} // fault from the 3rd failure, cleared by success
	if len(reports) != len(want) {
		t.Fatalf("%d reports, want %d: %+v", len(reports), len(want), reports)
	}
	for i, r := range reports {
		if r.Fault != want[i] {
			t.Errorf("report %d: fault=%v failures=%d err=%v; want fault=%v", i, r.Fault, r.Failures, r.Err, want[i])
		}
	}
	if last := reports[len(reports)-1]; last.State != PowerOff || last.Failures != 0 {
		t.Errorf("last report %+v, want off with 0 failures", last)
	}
}
