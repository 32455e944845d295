package engine

import (
	"testing"
	"time"
)

func TestConvergedAfterQuietPeriod(t *testing.T) {
	quiet := 100 * time.Millisecond
	h := start(t, quiet)
	f := newFake("f", nil)
	begin := time.Now()
	h.apply(graphOf(t, &Vertex{Res: f}))
	h.waitConverged(2 * time.Second)
	if d := time.Since(begin); d < quiet {
		t.Fatalf("converged after %v, before the %v quiet period", d, quiet)
	}
	f.drift()
	select {
	case c := <-h.conv:
		if c {
			t.Fatal("got converged, want unconverged after drift")
		}
	case <-time.After(time.Second):
		t.Fatal("no unconverged event after drift")
	}
	h.waitConverged(2 * time.Second)
	s := h.status(key("f"))
	if s.Applies != 2 || s.LastChange.IsZero() || s.State != StateOK {
		t.Fatalf("status = %+v, want ok with 2 applies", s)
	}
}

func TestEmptyGraphConverges(t *testing.T) {
	h := start(t, 20*time.Millisecond)
	h.apply(NewGraph())
	h.waitConverged(time.Second)
}

func TestLimiter(t *testing.T) {
	l := newLimiter(10, 2) // 10/s, burst 2
	now := time.Unix(0, 0)
	for i := 0; i < 2; i++ {
		l.refill(now)
		if l.tokens < 1 {
			t.Fatalf("burst token %d missing", i)
		}
		l.tokens--
	}
	l.refill(now.Add(50 * time.Millisecond))
	if l.tokens >= 1 {
		t.Fatalf("tokens = %v after 50ms at 10/s, want < 1", l.tokens)
	}
	l.refill(now.Add(time.Second))
	if l.tokens != 2 {
		t.Fatalf("tokens = %v after 1s, want capped at burst 2", l.tokens)
	}
	if newLimiter(0, 5) != nil {
		t.Fatal("limit 0 must mean no limiter")
	}
}

func TestRateLimitSpacesChecks(t *testing.T) {
	h := start(t, time.Second)
	f := newFake("l", nil)
	h.apply(graphOf(t, &Vertex{Res: f, Meta: Meta{Poll: time.Millisecond, Limit: 20, Burst: 1}}))
	time.Sleep(300 * time.Millisecond)
	if n := f.checks.Load(); n < 3 || n > 9 {
		t.Fatalf("checks in 300ms at 20/s = %d, want about 6", n)
	}
}
