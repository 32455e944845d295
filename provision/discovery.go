package provision

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// DiscoveryLimits bound the unknown machines that enlist themselves, so a
// flood of made-up MACs on the provisioning network cannot fill the
// inventory. Zero fields mean the defaults.
type DiscoveryLimits struct {
	// Max is how many hosts may be discovered or inspecting at once before
	// no more unknown MACs are enlisted; default 1024, negative: no cap.
	Max int
	// PerMinute is how many unknown MACs may be enlisted a minute, in
	// bursts of as many; default 120, negative: no rate limit.
	PerMinute int
}

// DiscoveryStats counts what discovery refused, for metrics and the
// dashboard.
type DiscoveryStats struct {
	AtCap, AtRate uint64 // refusals by reason, since start
	Max           int    // the cap in force; negative: none
	AtCapNow      bool   // the last refusal was at the cap
}

type discovery struct {
	limits DiscoveryLimits
	mu     sync.Mutex
	tokens float64
	last   time.Time
	atCap  atomic.Uint64
	atRate atomic.Uint64
	capNow atomic.Bool
}

func newDiscovery(l DiscoveryLimits) *discovery {
	if l.Max == 0 {
		l.Max = 1024
	}
	if l.PerMinute == 0 {
		l.PerMinute = 120
	}
	return &discovery{limits: l, tokens: float64(max(l.PerMinute, 0))}
}

// take spends one enlistment of the rate, refilled continuously.
func (d *discovery) take(now time.Time) bool {
	if d.limits.PerMinute < 0 {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	burst := float64(d.limits.PerMinute)
	if !d.last.IsZero() {
		d.tokens = min(burst, d.tokens+now.Sub(d.last).Minutes()*burst)
	}
	d.last = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// mayDiscover says whether an unknown MAC may be enlisted now: discovery
// is on, the hosts discovered or inspecting are under the cap, and the
// rate allows one more. A refusal is counted (and logged once a minute).
func (l *Lifecycle) mayDiscover(mac string) error {
	if l.cfg.Boot.NoDiscovery {
		return fmt.Errorf("host %s: %w", mac, ErrNoDiscovery)
	}
	d := l.discovery
	if d.limits.Max >= 0 {
		n := l.store.CountByState()
		if busy := n[inventory.StateDiscovered] + n[inventory.StateInspecting]; busy >= d.limits.Max {
			d.atCap.Add(1)
			d.capNow.Store(true)
			if l.refusals.due("discovery cap", l.now()) {
				l.log.Warn("discovery at its cap: unknown machines are not enlisted", "mac", mac, "discovered_or_inspecting", busy, "max", d.limits.Max)
			}
			return fmt.Errorf("host %s: %d hosts are discovered or inspecting, the most discovery allows (--discovery-max): %w", mac, busy, ErrDiscoveryLimit)
		}
	}
	if !d.take(l.now()) {
		d.atRate.Add(1)
		if l.refusals.due("discovery rate", l.now()) {
			l.log.Warn("discovery at its rate: unknown machines are not enlisted", "mac", mac, "per_minute", d.limits.PerMinute)
		}
		return fmt.Errorf("host %s: more than %d unknown machines a minute (--discovery-rate): %w", mac, d.limits.PerMinute, ErrDiscoveryLimit)
	}
	d.capNow.Store(false)
	return nil
}

// DiscoveryStats reports what discovery refused.
func (l *Lifecycle) DiscoveryStats() DiscoveryStats {
	d := l.discovery
	return DiscoveryStats{AtCap: d.atCap.Load(), AtRate: d.atRate.Load(), Max: d.limits.Max, AtCapNow: d.capNow.Load()}
}
