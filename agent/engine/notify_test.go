package engine

import (
	"testing"
	"time"
)

func notifyPair(t *testing.T, bMeta Meta) (*Graph, *fake, refresher) {
	a := newFake("a", nil)
	b := refresher{newFake("b", nil)}
	b.correct = true
	g := graphOf(t, &Vertex{Res: a}, &Vertex{Res: b, Meta: bMeta})
	g.Connect(key("a"), key("b"), true)
	return g, a, b
}

func TestNotifyRefreshesAfterRealChangeOnly(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	g, a, b := notifyPair(t, Meta{})
	h.apply(g)
	h.waitConverged(2 * time.Second)
	if n := b.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes after first fix = %d, want 1", n)
	}
	a.fire() // an event without a change: no refresh
	h.waitConverged(2 * time.Second)
	if n := b.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes after no-op event = %d, want 1", n)
	}
	a.drift()
	eventually(t, time.Second, "second refresh", func() bool { return b.refreshes.Load() == 2 })
}

func TestRefreshKeptUntilDependentSucceeds(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	g, _, b := notifyPair(t, Meta{Retry: 2, Delay: 5 * time.Millisecond})
	b.failChecks = 1 // b's first check fails: the refresh must survive it
	b.failRefs = 1   // and so must a failed refresh
	h.apply(g)
	// Each failure is retried (or b is woken by a, still settling); the
	// refresh must survive both and happen exactly once.
	h.waitConverged(2 * time.Second)
	b.mu.Lock()
	injected := b.failChecks + b.failRefs
	b.mu.Unlock()
	if injected != 0 || b.refreshes.Load() != 1 {
		t.Fatalf("left failures=%d refreshes=%d; want both failures hit and one refresh", injected, b.refreshes.Load())
	}
	b.fire()
	time.Sleep(50 * time.Millisecond)
	if n := b.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d after the refresh was cleared, want 1", n)
	}
}

func TestRefreshPassesChangeOn(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	g, _, b := notifyPair(t, Meta{})
	c := refresher{newFake("c", nil)}
	c.correct = true
	if err := g.Add(c, Meta{}); err != nil {
		t.Fatal(err)
	}
	g.Connect(key("b"), key("c"), true)
	h.apply(g)
	h.waitConverged(2 * time.Second)
	if b.refreshes.Load() != 1 || c.refreshes.Load() != 1 {
		t.Fatalf("refreshes b=%d c=%d, want 1 each: a refresh is a change", b.refreshes.Load(), c.refreshes.Load())
	}
}
