package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	"github.com/rackboot/rackboot/agent/resources"
	agentrun "github.com/rackboot/rackboot/agent/run"
	"golang.org/x/sync/errgroup"
)

// appliance is one appliance's operator API.
type appliance struct {
	api, boot, token string
}

var api = &http.Client{Timeout: 10 * time.Minute}

func (a appliance) do(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.api+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s %s: %d %s", a.api, method, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// agent is one enrolled host.
type agent struct {
	app        int
	mac, name  string
	token, dir string
}

func (g agent) file() string { return filepath.Join(g.dir, g.name, "motd") }

// want is what an agent's file holds under config version v.
func want(g agent, v int) string { return fmt.Sprintf("v%d %s\n", v, g.name) }

func bench(ctx context.Context, o options, out io.Writer) error {
	apps := make([]appliance, len(o.apis))
	for i := range apps {
		tok, err := os.ReadFile(o.tokens[i])
		if err != nil {
			return err
		}
		apps[i] = appliance{api: o.apis[i], boot: o.boots[i], token: strings.TrimSpace(string(tok))}
	}
	// The first version goes in before the hosts exist: storing a config
	// appends an event to every host it selects, one etcd transaction
	// each, before the API answers.
	if err := putConfig(ctx, apps[0], o.dir, 1); err != nil {
		return err
	}
	start := time.Now()
	agents, err := enrol(ctx, o, apps)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "enrolled %d hosts (host + agent token), %d per appliance through its own API, %d at a time each: %.0f hosts/s in all\n",
		len(agents), o.hosts, o.clients, float64(len(agents))/time.Since(start).Seconds())
	r, err := newRunner()
	if err != nil {
		return err
	}
	defer r.stopAll()
	start = time.Now()
	for _, g := range agents {
		r.start(ctx, apps[g.app].boot, g)
	}
	if _, err := waitRight(ctx, agents, 1, 10*time.Minute); err != nil {
		return fmt.Errorf("first configs: %w", err)
	}
	fmt.Fprintf(out, "%d agents started, checked in and wrote their first file in %v\n", len(agents), time.Since(start).Round(time.Millisecond))
	for v := 2; v <= 1+o.changes; v++ {
		// The files are watched while the PUT is in flight: it answers
		// only after its per-host events, which at thousands of hosts
		// takes longer than the change takes to reach the agents.
		t0 := time.Now()
		put := make(chan error, 1)
		go func() { put <- putConfig(ctx, apps[0], o.dir, v) }()
		last, err := waitRight(ctx, agents, v, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("change to v%d: %w", v, err)
		}
		fmt.Fprintf(out, "config change v%d through %s → all %d files right: %v; per appliance, its last agent's new graph: %s\n",
			v, apps[0].api, len(agents), last.Sub(t0).Round(time.Millisecond), perAppliance(r, agents, len(apps), t0))
		err = <-put
		fmt.Fprintf(out, "  the PUT itself answered after %v (err %v)\n", time.Since(t0).Round(time.Millisecond), err)
		if err != nil {
			return err
		}
	}
	select {
	case <-time.After(o.idle):
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "agents' warnings and errors over the run: %d%s\n", r.problems.Load(), r.firstProblem())
	return nil
}

// perAppliance is, for each appliance, when its last agent's engine took
// the new graph, after t0.
func perAppliance(r *runner, agents []agent, n int, t0 time.Time) string {
	worst := make([]time.Duration, n)
	for _, g := range agents {
		if t, ok := r.applied(g.mac); ok && t.After(t0) {
			worst[g.app] = max(worst[g.app], t.Sub(t0))
		}
	}
	s := make([]string, n)
	for i, d := range worst {
		s[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(s, " ")
}

// enrol creates o.hosts deployed hosts on every appliance and an agent
// token for each, o.clients at a time per appliance, every appliance at once.
func enrol(ctx context.Context, o options, apps []appliance) ([]agent, error) {
	var mu sync.Mutex
	var all []agent
	g, gctx := errgroup.WithContext(ctx)
	for a := range apps {
		g.Go(func() error {
			eg, ectx := errgroup.WithContext(gctx)
			eg.SetLimit(o.clients)
			for i := range o.hosts {
				h := agent{app: a, mac: fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", 0xe0, a, i>>8&0xff, i&0xff),
					name: fmt.Sprintf("a%02d-h%04d", a+1, i), dir: o.dir}
				eg.Go(func() error {
					body := map[string]any{"mac": h.mac, "hostname": h.name, "state": "deployed", "labels": map[string]string{"fleet": "scale"}}
					if err := apps[a].do(ectx, "POST", "/api/v1/hosts", body, nil); err != nil {
						return err
					}
					var tok struct{ Token string }
					if err := apps[a].do(ectx, "POST", "/api/v1/hosts/"+h.mac+"/agent-token", map[string]bool{}, &tok); err != nil {
						return err
					}
					h.token = tok.Token
					mu.Lock()
					all = append(all, h)
					mu.Unlock()
					return os.MkdirAll(filepath.Join(o.dir, h.name), 0o755)
				})
			}
			return eg.Wait()
		})
	}
	return all, g.Wait()
}

// putConfig stores the one config, version v: a file per host.
func putConfig(ctx context.Context, a appliance, dir string, v int) error {
	body := fmt.Sprintf("- kind: file\n  name: %s/{{.Host.Hostname}}/motd\n  content: \"v%d {{.Host.Hostname}}\\n\"\n", dir, v)
	in := map[string]any{"selector": map[string]string{"fleet": "scale"}, "body": body}
	return a.do(ctx, "PUT", "/api/v1/configs/scale", in, nil)
}

// waitRight reads the files still pending, every 10 ms, until each holds
// version v, and returns when that was first seen.
func waitRight(ctx context.Context, agents []agent, v int, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	pending := slices.Clone(agents)
	for {
		pending = slices.DeleteFunc(pending, func(g agent) bool {
			b, err := os.ReadFile(g.file())
			return err == nil && string(b) == want(g, v)
		})
		if len(pending) == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			perApp := map[int]int{}
			for _, g := range pending {
				perApp[g.app+1]++
			}
			got, _ := os.ReadFile(pending[0].file())
			return time.Time{}, fmt.Errorf("%d files not right after %v (per appliance %v); %s holds %q", len(pending), d, perApp, pending[0].file(), got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runner runs every agent in this process, sharing one inotify instance
// and one HTTP transport (a connection per agent), as benchfleet -mode
// inproc does.
type runner struct {
	w        *resources.Watcher
	http     *http.Client
	log      *slog.Logger
	problems atomic.Int64
	first    atomic.Value // string

	mu      sync.Mutex
	stops   []func()
	applies map[string]time.Time
}

func newRunner() (*runner, error) {
	w, err := resources.NewWatcher()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 100000
	r := &runner{w: w, http: &http.Client{Transport: tr}, applies: map[string]time.Time{}}
	r.log = slog.New(&counter{r: r})
	return r, nil
}

func (r *runner) start(ctx context.Context, boot string, g agent) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	a := &agentrun.Agent{Client: &client.Client{URL: boot, MAC: g.mac, Token: g.token, HTTP: r.http},
		Quiet: 50 * time.Millisecond, Watcher: r.w, Logger: r.log.With("host", g.name),
		OnApplied: func(string, error) {
			r.mu.Lock()
			r.applies[g.mac] = time.Now()
			r.mu.Unlock()
		}}
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			r.note(fmt.Sprintf("%s: %v", g.name, err))
		}
	}()
	r.mu.Lock()
	r.stops = append(r.stops, func() { cancel(); <-done })
	r.mu.Unlock()
}

func (r *runner) applied(mac string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.applies[mac]
	return t, ok
}

func (r *runner) stopAll() {
	r.mu.Lock()
	var wg sync.WaitGroup
	for _, stop := range r.stops {
		wg.Go(stop)
	}
	r.mu.Unlock()
	wg.Wait()
	r.w.Close()
}

func (r *runner) note(msg string) {
	r.problems.Add(1)
	r.first.CompareAndSwap(nil, msg)
}

func (r *runner) firstProblem() string {
	if s, ok := r.first.Load().(string); ok {
		return "; the first: " + s
	}
	return ""
}

// counter is a slog handler that counts the agents' warnings and errors
// and keeps the first.
type counter struct {
	r     *runner
	attrs []slog.Attr
}

func (c *counter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (c *counter) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	for _, a := range c.attrs {
		b.WriteString(" " + a.String())
	}
	rec.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	c.r.note(b.String())
	return nil
}

func (c *counter) WithAttrs(as []slog.Attr) slog.Handler {
	return &counter{r: c.r, attrs: append(slices.Clone(c.attrs), as...)}
}

func (c *counter) WithGroup(string) slog.Handler { return c }
