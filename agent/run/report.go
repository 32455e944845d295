package run

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/machineapi"
)

// maxQueued bounds the reports waiting for an appliance that is away; the
// oldest go first, the newest (the truth now) is always kept.
const maxQueued = 32

// reporter turns engine events into reports. Every converged / unconverged
// change is its own report, sent in order, so the appliance sees each
// drift and its correction; resource changes in between are debounced
// into one report. It never blocks the engine: OnEvent only records.
type reporter struct {
	client   *client.Client
	log      *slog.Logger
	debounce time.Duration
	bo       backoff

	mu        sync.Mutex
	statuses  map[engine.Key]engine.Status
	converged bool
	version   string // the graph running
	configErr string // why the newest graph is not
	queue     []queued
	seq       uint64
	dirty     bool // resource changes not in any queued report

	now   chan struct{} // a report is queued
	later chan struct{} // resources changed: report after the debounce
}

func newReporter(c *client.Client, log *slog.Logger, debounce time.Duration, bo backoff) *reporter {
	return &reporter{client: c, log: log, debounce: debounce, bo: bo, statuses: map[engine.Key]engine.Status{},
		now: make(chan struct{}, 1), later: make(chan struct{}, 1)}
}

// queued is a report waiting to be sent; seq tells a sent report from one
// that replaced it while it was in flight.
type queued struct {
	seq uint64
	rep machineapi.AgentReport
}

// onEvent is the engine's OnEvent.
func (r *reporter) onEvent(ev engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Type {
	case engine.EventResource:
		r.statuses[ev.Resource.Key] = ev.Resource
		r.dirty = true
		signal(r.later)
	case engine.EventConverged, engine.EventUnconverged:
		r.converged = ev.Type == engine.EventConverged
		r.enqueue()
	}
}

// applied records the outcome of handing a new graph (of resources keys)
// to the engine.
func (r *reporter) applied(version string, keys []engine.Key, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.configErr = err.Error()
		r.enqueue() // no engine event will follow: the running graph stays
		return
	}
	r.version, r.configErr = version, ""
	live := make(map[engine.Key]bool, len(keys))
	for _, k := range keys {
		live[k] = true
	}
	for k := range r.statuses {
		if !live[k] {
			delete(r.statuses, k) // the engine stopped it without an event
		}
	}
	r.dirty = true
	signal(r.later)
}

// enqueue snapshots the state into a report; r.mu is held.
func (r *reporter) enqueue() {
	rep := machineapi.AgentReport{Status: "unconverged", ConfigVersion: r.version, ConfigError: r.configErr,
		Resources: make([]machineapi.ResourceStatus, 0, len(r.statuses))}
	if r.converged {
		rep.Status = "converged"
	}
	for _, s := range r.statuses {
		rs := machineapi.ResourceStatus{Resource: s.Key.String(), State: string(s.State), LastChange: s.LastChange, Applies: s.Applies}
		if s.Err != nil {
			rs.Error = s.Err.Error()
		}
		rep.Resources = append(rep.Resources, rs)
	}
	if len(r.queue) == maxQueued {
		r.queue = r.queue[1:]
	}
	r.seq++
	r.queue = append(r.queue, queued{seq: r.seq, rep: rep})
	r.dirty = false
	signal(r.now)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run sends queued reports until ctx ends.
func (r *reporter) run(ctx context.Context) error {
	var debounced <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.later:
			if debounced == nil {
				debounced = time.After(r.debounce)
			}
			continue
		case <-debounced:
			debounced = nil
			r.mu.Lock()
			if r.dirty {
				r.enqueue()
			}
			r.mu.Unlock()
		case <-r.now:
		}
		r.flush(ctx)
	}
}

// flush sends the queued reports in order, waiting out an appliance that
// is away; reports queued meanwhile go out in the same flush.
func (r *reporter) flush(ctx context.Context) {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.mu.Unlock()
			return
		}
		q := r.queue[0]
		r.mu.Unlock()
		rep := q.rep
		sort.Slice(rep.Resources, func(i, j int) bool { return rep.Resources[i].Resource < rep.Resources[j].Resource })
		if _, err := r.client.Report(ctx, rep); err != nil {
			if ctx.Err() != nil {
				return
			}
			d := r.bo.next()
			r.log.Warn("status report failed; retrying", "err", err, "retry_in", d, "unauthorized", errors.Is(err, client.ErrUnauthorized))
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		r.bo.reset()
		r.mu.Lock()
		if len(r.queue) > 0 && r.queue[0].seq == q.seq {
			r.queue = r.queue[1:]
		}
		r.mu.Unlock()
		r.log.Debug("status reported", "status", rep.Status, "resources", len(rep.Resources))
	}
}
