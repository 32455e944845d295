package bmc

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Run polls the power state of every host with a BMC, now and then every
// PollInterval, until ctx ends. The host list is read afresh each round,
// so hosts enrolled meanwhile are polled too. The Controller's limits keep
// a rack of BMCs from being asked all at once.
func (f *Fleet) Run(ctx context.Context) error {
	interval := f.PollInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		f.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (f *Fleet) pollOnce(ctx context.Context) {
	hosts := f.hostsWithBMC(ctx)
	if f.Shard != nil {
		mine := f.Shard(ctx)
		hosts = slices.DeleteFunc(hosts, func(h inventory.Host) bool { return !mine(h.MAC) })
	}
	targets := make([]Target, 0, len(hosts))
	polled := make([]inventory.Host, 0, len(hosts))
	for i := range hosts {
		t, err := f.target(ctx, &hosts[i])
		if err != nil {
			f.log().Warn("bmc: cannot poll", "mac", hosts[i].MAC, "err", err)
			continue
		}
		targets, polled = append(targets, t), append(polled, hosts[i])
	}
	states := make([]PowerState, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i := range targets { // the Controller's gate bounds how many run at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i], errs[i] = f.Controller.Status(ctx, targets[i])
		}()
	}
	wg.Wait()
	for i, h := range polled {
		if ctx.Err() != nil {
			return
		}
		if errs[i] != nil {
			f.noteFailure(ctx, h.MAC, errs[i])
			continue
		}
		if h.BMC.PowerState == string(states[i]) && h.BMC.Fault == "" {
			f.clearFailures(h.MAC) // as recorded: no write, no event
			continue
		}
		f.record(ctx, h.MAC, states[i], "power state seen by poll: "+string(states[i]), "bmc poller")
	}
}

func (f *Fleet) hostsWithBMC(ctx context.Context) []inventory.Host {
	var out []inventory.Host
	q := inventory.Query{Limit: inventory.MaxLimit}
	for {
		p, err := f.Store.Hosts(ctx, q)
		if err != nil {
			return out
		}
		for _, h := range p.Hosts {
			if h.BMC != nil {
				out = append(out, h)
			}
		}
		if p.Next == "" {
			return out
		}
		q.After = p.Next
	}
}
