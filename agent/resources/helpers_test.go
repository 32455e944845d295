package resources

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// mustCheck runs CheckApply and fails the test on an error.
func mustCheck(t *testing.T, r engine.Resource, apply bool) bool {
	t.Helper()
	ok, err := r.CheckApply(context.Background(), apply)
	if err != nil {
		t.Fatalf("%s CheckApply(apply=%v): %v", engine.KeyOf(r), apply, err)
	}
	return ok
}

// converge checks that r is fixed once and then correct.
func converge(t *testing.T, r engine.Resource) {
	t.Helper()
	if mustCheck(t, r, true) {
		t.Fatalf("%s: first CheckApply said correct, want a fix", engine.KeyOf(r))
	}
	if !mustCheck(t, r, true) {
		t.Fatalf("%s: second CheckApply still not correct", engine.KeyOf(r))
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runGraph runs an engine with resources until the test ends.
func runGraph(t *testing.T, rs ...engine.Resource) *engine.Engine {
	t.Helper()
	eng := engine.New(engine.Config{
		Quiet:  20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(ev engine.Event) {
			if ev.Type == engine.EventResource {
				t.Logf("status %s %s err=%v checks=%d", ev.Resource.Key, ev.Resource.State, ev.Resource.Err, ev.Resource.Checks)
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	g := engine.NewGraph()
	for _, r := range rs {
		if err := g.Add(r, engine.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Apply(ctx, g); err != nil {
		t.Fatal(err)
	}
	return eng
}

// within polls cond and returns how long it took to become true.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return time.Since(start)
}

func ptr[T any](v T) *T { return &v }

// fakeExit is an error with an exit code, as a fake Runner returns it.
type fakeExit int

func (e fakeExit) Error() string { return "exit status" }
func (e fakeExit) ExitCode() int { return int(e) }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
