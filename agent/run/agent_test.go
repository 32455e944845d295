package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	"github.com/rackboot/rackboot/machineapi"
)

// fakeAppliance serves one host's graph and records its reports. While
// down it answers 503, as an appliance behind a proxy would while it
// restarts.
type fakeAppliance struct {
	mu      sync.Mutex
	graph   machineapi.Graph
	changed chan struct{}
	reports []machineapi.AgentReport
	down    bool
}

func newFakeAppliance(t *testing.T) (*fakeAppliance, *client.Client) {
	f := &fakeAppliance{changed: make(chan struct{}), graph: machineapi.Graph{Version: "empty"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /machine/v1/agent/config", f.config)
	mux.HandleFunc("POST /machine/v1/agent/status", f.status)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, &client.Client{URL: srv.URL, MAC: "52:54:00:00:00:01", Token: "t", Wait: 2 * time.Second}
}

func (f *fakeAppliance) set(g machineapi.Graph) {
	f.mu.Lock()
	f.graph = g
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeAppliance) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeAppliance) config(w http.ResponseWriter, r *http.Request) {
	for {
		f.mu.Lock()
		g, ch, down := f.graph, f.changed, f.down
		f.mu.Unlock()
		switch {
		case down:
			http.Error(w, "restarting", http.StatusServiceUnavailable)
			return
		case g.Version != r.URL.Query().Get("version"):
			json.NewEncoder(w).Encode(g)
			return
		}
		select {
		case <-ch:
		case <-time.After(time.Second):
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
}

func (f *fakeAppliance) status(w http.ResponseWriter, r *http.Request) {
	var rep machineapi.AgentReport
	json.NewDecoder(r.Body).Decode(&rep)
	f.mu.Lock()
	f.reports = append(f.reports, rep)
	f.mu.Unlock()
	w.Write([]byte(`{"state":"active"}`))
}

// last returns the newest report, if any.
func (f *fakeAppliance) last() (machineapi.AgentReport, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reports) == 0 {
		return machineapi.AgentReport{}, false
	}
	return f.reports[len(f.reports)-1], true
}

func fileConfig(name, path, content string) machineapi.GraphConfig {
	return machineapi.GraphConfig{Name: name, Version: 1, Body: "- kind: file\n  name: " + path + "\n  content: " + content + "\n"}
}

// eventually waits for cond: a liveness bound, generous so that a loaded
// machine (go test runs packages side by side) does not fail it.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func startAgent(t *testing.T, c *client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	a := &Agent{Client: c, Quiet: 50 * time.Millisecond, Debounce: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("agent did not stop within 5 s of cancel")
		}
	})
}

// TestBadGraphKeepsRunningGraph: a graph that fails to parse or merge is
// reported, and the resources of the running one stay enforced.
func TestBadGraphKeepsRunningGraph(t *testing.T) {
	f, c := newFakeAppliance(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	f.set(machineapi.Graph{Version: "v1", Configs: []machineapi.GraphConfig{fileConfig("one", a, "A")}})
	startAgent(t, c)
	eventually(t, "v1 converged", func() bool { r, ok := f.last(); return ok && r.Status == "converged" && r.ConfigVersion == "v1" })

	for version, g := range map[string][]machineapi.GraphConfig{
		"dup": {fileConfig("one", a, "A"), fileConfig("two", a, "other")},
		"bad": {{Name: "one", Version: 2, Body: "- kind: nope\n  name: x\n"}},
	} {
		f.set(machineapi.Graph{Version: version, Configs: g})
		eventually(t, version+" reported", func() bool { r, _ := f.last(); return r.ConfigError != "" })
		r, _ := f.last()
		if r.ConfigVersion != "v1" || !strings.Contains(r.ConfigError, "config") {
			t.Fatalf("%s: report %+v, want v1 still running and the error", version, r)
		}
		os.WriteFile(a, []byte("drift"), 0o644)
		eventually(t, "v1's file restored", func() bool { got, _ := os.ReadFile(a); return string(got) == "A" })
		f.set(machineapi.Graph{Version: "v1", Configs: []machineapi.GraphConfig{fileConfig("one", a, "A")}})
		eventually(t, "error cleared", func() bool { r, _ := f.last(); return r.ConfigError == "" })
	}
	f.set(machineapi.Graph{Version: "v3", Configs: []machineapi.GraphConfig{fileConfig("one", a, "A"), fileConfig("two", b, "B")}})
	eventually(t, "two configs merged", func() bool { got, _ := os.ReadFile(b); return string(got) == "B" })
}

// TestReconnects: with the appliance away the graph stays enforced; once
// it is back, a new graph arrives and the queued reports are delivered.
func TestReconnects(t *testing.T) {
	f, c := newFakeAppliance(t)
	a := filepath.Join(t.TempDir(), "a")
	f.set(machineapi.Graph{Version: "v1", Configs: []machineapi.GraphConfig{fileConfig("one", a, "A")}})
	startAgent(t, c)
	eventually(t, "v1 converged", func() bool { r, ok := f.last(); return ok && r.Status == "converged" })
	f.setDown(true)
	f.set(machineapi.Graph{Version: "v2", Configs: []machineapi.GraphConfig{fileConfig("one", a, "A2")}}) // wakes the poll into a 503
	time.Sleep(100 * time.Millisecond)
	os.WriteFile(a, []byte("drift"), 0o644)
	eventually(t, "restored while the appliance is away", func() bool { got, _ := os.ReadFile(a); return string(got) == "A" })
	f.setDown(false)
	eventually(t, "v2 after reconnect", func() bool { got, _ := os.ReadFile(a); return string(got) == "A2" })
	eventually(t, "v2 reported", func() bool { r, _ := f.last(); return r.ConfigVersion == "v2" && r.Status == "converged" })
}

func TestUnauthorizedAtStartIsFatal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad agent token", http.StatusUnauthorized)
	}))
	defer srv.Close()
	err := (&Agent{Client: &client.Client{URL: srv.URL, MAC: "52:54:00:00:00:01", Token: "x"}}).Run(context.Background())
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized", err)
	}
}

// TestManyFiles converges a graph of 1,000 files: beyond 128 it works only
// because every file resource shares one inotify instance (the kernel's
// default per-user limit is 128), and drift in any of them is still seen.
func TestManyFiles(t *testing.T) {
	f, c := newFakeAppliance(t)
	dir := t.TempDir()
	var body strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&body, "- kind: file\n  name: %s/f%04d\n  content: \"%d\"\n", dir, i, i)
	}
	start := time.Now()
	f.set(machineapi.Graph{Version: "v1", Configs: []machineapi.GraphConfig{{Name: "many", Version: 1, Body: body.String()}}})
	startAgent(t, c)
	eventually(t, "1,000 files converged", func() bool {
		r, ok := f.last()
		return ok && r.Status == "converged" && len(r.Resources) == 1000
	})
	t.Logf("1,000 file resources converged and reported in %v (quiet period 50 ms included)", time.Since(start))
	r, _ := f.last()
	for _, rs := range r.Resources {
		if rs.State != "ok" {
			t.Fatalf("%s: %s %s", rs.Resource, rs.State, rs.Error)
		}
	}
	last := filepath.Join(dir, "f0999")
	os.Remove(last)
	eventually(t, "the last file restored", func() bool { got, _ := os.ReadFile(last); return string(got) == "999" })
}
