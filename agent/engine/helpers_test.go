package engine

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
)

// harness runs an engine for one test and checks afterwards that every
// goroutine it started is gone.
type harness struct {
	t   *testing.T
	eng *Engine

	mu     sync.Mutex
	events []Event
	conv   chan bool // converged (true) / unconverged (false), buffered
}

func start(t *testing.T, quiet time.Duration) *harness {
	t.Helper()
	base := runtime.NumGoroutine()
	h := &harness{t: t, conv: make(chan bool, 100)}
	h.eng = New(Config{Logger: testLogger(t), Quiet: quiet, OnEvent: h.record})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		checkGoroutines(t, base)
	})
	return h
}

func (h *harness) record(ev Event) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	switch ev.Type {
	case EventConverged:
		h.conv <- true
	case EventUnconverged:
		h.conv <- false
	}
}

func (h *harness) apply(g *Graph) {
	h.t.Helper()
	if err := h.eng.Apply(context.Background(), g); err != nil {
		h.t.Fatalf("Apply: %v", err)
	}
}

// waitConverged waits for the next converged event.
func (h *harness) waitConverged(d time.Duration) {
	h.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case c := <-h.conv:
			if c {
				return
			}
		case <-deadline:
			h.t.Fatalf("not converged within %v", d)
		}
	}
}

func (h *harness) status(k Key) Status {
	all, _ := h.eng.Statuses()
	for _, s := range all {
		if s.Key == k {
			return s
		}
	}
	h.t.Fatalf("no status for %s", k)
	return Status{}
}

func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func graphOf(t *testing.T, vs ...*Vertex) *Graph {
	t.Helper()
	g := NewGraph()
	for _, v := range vs {
		if err := g.Add(v.Res, v.Meta); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func key(name string) Key { return Key{Kind: "fake", Name: name} }
