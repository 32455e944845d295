package engine

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestRequireOrdersChecks(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	j := &journal{}
	a, b, c := newFake("a", j), newFake("b", j), newFake("c", j)
	// Insert in reverse so only the edges can produce the right order.
	g := graphOf(t, &Vertex{Res: c}, &Vertex{Res: b}, &Vertex{Res: a})
	g.Connect(key("a"), key("b"), false)
	g.Connect(key("b"), key("c"), false)
	h.apply(g)
	h.waitConverged(2 * time.Second)
	if got, want := j.list(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestRequireBlocksWhileUpstreamFails(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	a, b := newFake("a", nil), newFake("b", nil)
	a.failChecks = 1 << 30
	g := graphOf(t, &Vertex{Res: a}, &Vertex{Res: b})
	g.Connect(key("a"), key("b"), false)
	h.apply(g)
	eventually(t, time.Second, "a failed", func() bool { return h.status(key("a")).State == StateFailed })
	time.Sleep(50 * time.Millisecond)
	if b.checks.Load() != 0 || h.status(key("b")).State != StatePending {
		t.Fatalf("b checked %d times, state %s; want untouched and pending", b.checks.Load(), h.status(key("b")).State)
	}
}

func TestIndependentBranchesRunInParallel(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	var in, most atomic.Int32
	var vs []*Vertex
	for _, n := range []string{"x", "y"} {
		f := newFake(n, nil)
		f.delay, f.inFlight, f.maxInFlight = 200*time.Millisecond, &in, &most
		vs = append(vs, &Vertex{Res: f})
	}
	begin := time.Now()
	h.apply(graphOf(t, vs...))
	h.waitConverged(2 * time.Second)
	if most.Load() != 2 {
		t.Fatalf("max concurrent applies = %d, want 2", most.Load())
	}
	if d := time.Since(begin); d > 390*time.Millisecond+50*time.Millisecond {
		t.Fatalf("two 200ms applies took %v: not parallel", d)
	}
}

func TestRetryThenSucceed(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	f := newFake("r", nil)
	f.failChecks = 2
	h.apply(graphOf(t, &Vertex{Res: f, Meta: Meta{Retry: 2, Delay: 10 * time.Millisecond}}))
	h.waitConverged(2 * time.Second)
	if !f.isCorrect() || f.applies.Load() != 1 {
		t.Fatalf("correct=%v applies=%d, want fixed once", f.isCorrect(), f.applies.Load())
	}
}

func TestRetryExhaustedReportsError(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	f := newFake("r", nil)
	f.failChecks = 3
	h.apply(graphOf(t, &Vertex{Res: f, Meta: Meta{Retry: 1, Delay: time.Millisecond}}))
	eventually(t, time.Second, "failed after 2 checks", func() bool {
		s := h.status(key("r"))
		return s.State == StateFailed && s.Checks == 2 && s.Err != nil
	})
	if f.checks.Load() != 2 {
		t.Fatalf("checks = %d, want 2 (1 + 1 retry)", f.checks.Load())
	}
}

func TestPollReplacesWatch(t *testing.T) {
	h := start(t, time.Second)
	f := newFake("p", nil)
	h.apply(graphOf(t, &Vertex{Res: f, Meta: Meta{Poll: 10 * time.Millisecond}}))
	eventually(t, time.Second, "5 polled checks", func() bool { return f.checks.Load() >= 5 })
	if n := f.watchStarts.Load(); n != 0 {
		t.Fatalf("Watch started %d times under poll", n)
	}
}

func TestNoopOnlyChecks(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	f := newFake("n", nil)
	h.apply(graphOf(t, &Vertex{Res: f, Meta: Meta{Noop: true}}))
	h.waitConverged(2 * time.Second)
	if f.isCorrect() || f.applies.Load() != 0 {
		t.Fatal("noop resource was changed")
	}
	if s := h.status(key("n")); s.State != StateDrift {
		t.Fatalf("state = %s, want %s", s.State, StateDrift)
	}
}
