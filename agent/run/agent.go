package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
	"github.com/rackboot/rackboot/machineapi"
	"golang.org/x/sync/errgroup"
)

// Agent keeps one host converged. Client is required; the zero value of
// every other field is the documented default.
type Agent struct {
	Client *client.Client
	Logger *slog.Logger // nil: silent
	// Quiet is how long every resource must stay settled before the host
	// counts as converged; 0 means engine.DefaultQuiet.
	Quiet time.Duration
	// Debounce gathers resource changes into one report; default 1 s.
	// Converged / unconverged changes are reported at once.
	Debounce time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting to an
	// appliance that is away; defaults 500 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// OnApplied, when set, is called after each graph the engine accepted
	// (err nil) or refused to run (err set); for tests and benchmarks.
	OnApplied func(version string, err error)
	// Watcher, when set, is the inotify instance the agent's file
	// resources share, and outlives Run; nil: Run opens its own. Many
	// agents in one process (a benchmark) share one: the kernel allows
	// 128 instances per user by default.
	Watcher *resources.Watcher
}

// Run runs the agent until ctx ends, then stops every resource and returns
// nil. It fails early only when the appliance refuses the token before any
// graph arrived (a mistyped token should not look like a working agent);
// later refusals are retried, and the running graph stays enforced.
func (a *Agent) Run(ctx context.Context) error {
	if a.Client == nil {
		return errors.New("agent: Client is required")
	}
	log := a.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := a.Watcher
	if w == nil {
		var err error
		if w, err = resources.NewWatcher(); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		defer w.Close() // after the engine stopped every resource using it
	}
	rep := newReporter(a.Client, log, cmpOr(a.Debounce, time.Second), a.backoff())
	eng := engine.New(engine.Config{Logger: log, Quiet: a.Quiet, OnEvent: rep.onEvent})
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eng.Run(ctx) })
	g.Go(func() error { return rep.run(ctx) })
	g.Go(func() error {
		return a.follow(ctx, log, &graphRunner{eng: eng, w: w, pub: a.Client, rep: rep, onApplied: a.OnApplied})
	})
	return g.Wait()
}

func (a *Agent) backoff() backoff {
	return backoff{min: cmpOr(a.MinBackoff, 500*time.Millisecond), max: cmpOr(a.MaxBackoff, 30*time.Second)}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// follow long-polls for the host's graph and applies every new version.
func (a *Agent) follow(ctx context.Context, log *slog.Logger, gr *graphRunner) error {
	bo := a.backoff()
	version, started := "", false
	for {
		g, changed, err := a.Client.Graph(ctx, version)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, client.ErrUnauthorized) && !started:
			return fmt.Errorf("agent: %w", err)
		case err != nil:
			d := bo.next()
			log.Warn("appliance unreachable; the running graph stays enforced", "err", err, "retry_in", d)
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		bo.reset()
		started = true
		log.Debug("graph poll answered", "changed", changed, "version", g.Version)
		if changed {
			version = g.Version
			gr.apply(ctx, log, g)
		}
	}
}

// graphRunner hands graphs to the engine.
type graphRunner struct {
	eng       *engine.Engine
	w         *resources.Watcher
	pub       resources.Publisher // where export resources publish
	rep       *reporter
	onApplied func(string, error)
}

// apply merges and applies g; on failure the running graph stays and the
// error is reported.
func (gr *graphRunner) apply(ctx context.Context, log *slog.Logger, g machineapi.Graph) {
	graph, err := merge(g.Configs)
	if err == nil {
		// One inotify instance for every file resource: the kernel allows
		// 128 per user, so a graph of many files must share.
		resources.ShareWatcher(graph, gr.w)
		resources.SharePublisher(graph, gr.pub)
		err = gr.eng.Apply(ctx, graph)
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		log.Error("new graph refused; the running graph stays", "version", g.Version, "err", err)
		gr.rep.applied(g.Version, nil, err)
	} else {
		log.Info("graph applied", "version", g.Version, "configs", len(g.Configs), "resources", graph.Len())
		gr.rep.applied(g.Version, graph.Keys(), nil)
	}
	if gr.onApplied != nil {
		gr.onApplied(g.Version, err)
	}
}
