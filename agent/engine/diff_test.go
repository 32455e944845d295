package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApplyDiffKeepsUnchangedWatches(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	a, b, c := newFake("a", nil), newFake("b", nil), newFake("c", nil)
	h.apply(graphOf(t, &Vertex{Res: a}, &Vertex{Res: b}, &Vertex{Res: c}))
	h.waitConverged(2 * time.Second)

	a2 := newFake("a", nil) // same config: a keeps running
	b2 := newFake("b", nil)
	b2.cfg = "changed"
	d := newFake("d", nil)
	h.apply(graphOf(t, &Vertex{Res: a2}, &Vertex{Res: b2}, &Vertex{Res: d}))
	h.waitConverged(2 * time.Second)

	if a.watchStarts.Load() != 1 || a2.watchStarts.Load() != 0 {
		t.Errorf("a watch starts old=%d new=%d, want 1 and 0", a.watchStarts.Load(), a2.watchStarts.Load())
	}
	for name, f := range map[string]*fake{"old b": b, "c": c} {
		if f.watching.Load() != 0 {
			t.Errorf("%s still watching after removal", name)
		}
	}
	if b2.watchStarts.Load() != 1 || d.watchStarts.Load() != 1 {
		t.Errorf("new b / d watch starts = %d / %d, want 1", b2.watchStarts.Load(), d.watchStarts.Load())
	}
	a.drift() // the kept resource is still corrected
	eventually(t, time.Second, "a fixed", a.isCorrect)
}

func TestApplyMetaChangeRestartsResource(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	a := newFake("a", nil)
	h.apply(graphOf(t, &Vertex{Res: a}))
	h.apply(graphOf(t, &Vertex{Res: a, Meta: Meta{Retry: 3}}))
	eventually(t, time.Second, "second watch", func() bool { return a.watchStarts.Load() == 2 })
}

func TestCycleRefusedOldGraphKept(t *testing.T) {
	h := start(t, 50*time.Millisecond)
	a, b := newFake("a", nil), newFake("b", nil)
	h.apply(graphOf(t, &Vertex{Res: a}, &Vertex{Res: b}))
	h.waitConverged(2 * time.Second)

	c := newFake("c", nil)
	g := graphOf(t, &Vertex{Res: newFake("a", nil)}, &Vertex{Res: newFake("b", nil)}, &Vertex{Res: c})
	g.Connect(key("a"), key("b"), false)
	g.Connect(key("b"), key("c"), true)
	g.Connect(key("c"), key("a"), false)
	err := h.eng.Apply(context.Background(), g)
	var ce *CycleError
	if !errors.Is(err, ErrCycle) || !errors.As(err, &ce) {
		t.Fatalf("Apply(cycle) = %v, want a CycleError", err)
	}
	if want := "fake:a -> fake:b -> fake:c -> fake:a"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the cycle %q", err, want)
	}
	if c.watchStarts.Load() != 0 {
		t.Fatal("a resource of the refused graph was started")
	}
	b.drift()
	eventually(t, time.Second, "old graph still fixes b", b.isCorrect)
}

func TestValidateRefusesDanglingEdge(t *testing.T) {
	g := graphOf(t, &Vertex{Res: newFake("a", nil)})
	g.Connect(key("a"), key("zz"), false)
	err := g.Validate()
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "fake:zz") {
		t.Fatalf("Validate = %v, want ErrUnknown naming fake:zz", err)
	}
}

func TestAddDuplicate(t *testing.T) {
	g := graphOf(t, &Vertex{Res: newFake("a", nil)})
	if err := g.Add(newFake("a", nil), Meta{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Add duplicate = %v", err)
	}
}
