package redfish

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Poller polls the power state of a fixed set of BMCs on an interval,
// each on its own schedule so one slow BMC delays only itself.
type Poller struct {
	// Controller does the polling; its limits (sessions, gap) apply.
	Controller *Controller
	// Targets are polled once at start, then every Interval.
	Targets []Target
	// Interval defaults to 30s.
	Interval time.Duration
	// FaultAfter is how many consecutive failures raise Fault (default 3):
	// one lost UDP packet should not page anyone.
	FaultAfter int
	// Report receives every poll result. It is called from several
	// goroutines at once and should return quickly.
	Report func(Report)
}

// Report is the outcome of one poll of one BMC.
type Report struct {
	Target   Target
	State    PowerState // PowerUnknown when the poll failed
	Err      error      // nil on success
	Failures int        // consecutive failures, 0 on success
	Fault    bool       // Failures reached FaultAfter; cleared by a success
	At       time.Time
}

// Run polls until ctx ends, then waits for polls in flight and returns nil.
func (p *Poller) Run(ctx context.Context) error {
	if p.Controller == nil || p.Report == nil {
		return errors.New("poller: Controller and Report are required")
	}
	interval, faultAfter := p.Interval, p.FaultAfter
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if faultAfter <= 0 {
		faultAfter = 3
	}
	var wg sync.WaitGroup
	for _, t := range p.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.watch(ctx, t, interval, faultAfter)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Poller) watch(ctx context.Context, t Target, interval time.Duration, faultAfter int) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failures := 0
	for {
		st, err := p.Controller.Status(ctx, t)
		if ctx.Err() != nil {
			return // a poll cut short by shutdown is not a BMC failure
		}
		failures++
		if err == nil {
			failures = 0
		}
		p.Report(Report{Target: t, State: st, Err: err, Failures: failures,
			Fault: failures >= faultAfter, At: time.Now()})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
