// Package boottrace keeps, in memory, the steps each host's latest netboots
// got through: boot file offered, loader fetched, script or grub.cfg
// fetched, kernel and initrd fetched, installer claimed. An operator reads
// it to see where a chain broke (a firmware that refused the loader, a
// kernel GRUB would not boot).
//
// It is memory, not the inventory, on purpose: the steps are recorded by
// DHCP, TFTP and the machine side's GETs, which must not write the Store
// (a MAC named in a request is no reason to write anything). The steps
// reach a host's event log on paths that write anyway: the installer's
// claim, and the appliance's own timer for a boot that stopped (see
// Stalled). It is bounded: MaxSteps per host, MaxHosts hosts, the host
// idle longest forgotten first.
//
// It is not a log of the appliance (that is slog) and not a metric.
package boottrace

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The steps, in the order a chain goes through them.
const (
	StepOffered = "offered" // DHCP answered with a boot file (Detail)
	StepLoader  = "loader"  // the first-stage loader was fetched (Detail: name)
	StepScript  = "script"  // iPXE fetched its script
	StepConfig  = "config"  // GRUB fetched a grub.cfg (Detail: name)
	StepKernel  = "kernel"  // the installer kernel was fetched
	StepInitrd  = "initrd"  // the installer initrd was fetched
	StepClaim   = "claimed" // the installer claimed its boot token: it runs
)

// Step is one thing a host's boot did.
type Step struct {
	Time   time.Time `json:"time"`
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
	// Via is how: "dhcp", "tftp" or "http".
	Via string `json:"via,omitempty"`
}

func (s Step) String() string {
	out := s.Step
	if s.Detail != "" {
		out += " " + s.Detail
	}
	if s.Via != "" {
		out += " (" + s.Via + ")"
	}
	return out
}

// Defaults of Trace's fields.
const (
	DefaultMaxSteps = 32
	DefaultMaxHosts = 4096
)

// Trace is the steps of every host that netbooted lately. The zero value
// is ready; it is safe for concurrent use and must not be copied.
type Trace struct {
	MaxSteps int // per host; default DefaultMaxSteps
	MaxHosts int // default DefaultMaxHosts
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	hosts map[string]*host
	ips   map[netip.Addr]string // DHCP's address → MAC, for TFTP's requests
}

type host struct {
	steps   []Step
	pending int // steps at the end not yet handed to the event log
	last    time.Time
}

// Record adds a step of mac's boot. A new offer of a boot file after a
// step past it starts a new boot: what the earlier one left pending stays
// until it is taken.
func (t *Trace) Record(mac, step, detail, via string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record(mac, Step{Time: t.now(), Step: step, Detail: detail, Via: via})
}

// Bind remembers that ip is mac's, as DHCP gave it, so a TFTP request from
// ip can be recorded for mac.
func (t *Trace) Bind(ip netip.Addr, mac string) {
	if !ip.IsValid() || mac == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ips == nil {
		t.ips = map[netip.Addr]string{}
	}
	if len(t.ips) >= 4*t.maxHosts() {
		clear(t.ips) // rebuilt from the next offers
	}
	t.ips[ip.Unmap()] = mac
}

// RecordFrom adds a step of the host DHCP gave ip to; a step from an
// address DHCP did not give (a proxy DHCP setup) is dropped, and reported
// false.
func (t *Trace) RecordFrom(ip netip.Addr, step, detail, via string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	mac, ok := t.ips[ip.Unmap()]
	if !ok {
		return false
	}
	t.record(mac, Step{Time: t.now(), Step: step, Detail: detail, Via: via})
	return true
}

func (t *Trace) record(mac string, s Step) {
	if t.hosts == nil {
		t.hosts = map[string]*host{}
	}
	h := t.hosts[mac]
	if h == nil {
		if len(t.hosts) >= t.maxHosts() {
			t.forgetIdlest()
		}
		h = &host{}
		t.hosts[mac] = h
	}
	h.steps = append(h.steps, s)
	h.pending++
	if over := len(h.steps) - t.maxSteps(); over > 0 {
		h.steps = append(h.steps[:0], h.steps[over:]...)
		h.pending = min(h.pending, len(h.steps))
	}
	h.last = s.Time
}

func (t *Trace) forgetIdlest() {
	var oldest string
	for mac, h := range t.hosts {
		if oldest == "" || h.last.Before(t.hosts[oldest].last) {
			oldest = mac
		}
	}
	delete(t.hosts, oldest)
}

// Steps returns a copy of mac's steps, oldest first.
func (t *Trace) Steps(mac string) []Step {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[mac]
	if h == nil {
		return nil
	}
	return append([]Step(nil), h.steps...)
}

// Take returns mac's steps not taken before and marks them taken: the
// caller writes them to the host's event log.
func (t *Trace) Take(mac string) []Step {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.take(mac)
}

func (t *Trace) take(mac string) []Step {
	h := t.hosts[mac]
	if h == nil || h.pending == 0 {
		return nil
	}
	out := append([]Step(nil), h.steps[len(h.steps)-h.pending:]...)
	h.pending = 0
	return out
}

// Stalled takes the pending steps of every host whose last step is older
// than idle: boots that stopped short of the installer's claim (which
// takes its own). The map is keyed by MAC.
func (t *Trace) Stalled(idle time.Duration) map[string][]Step {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]Step{}
	now := t.now()
	for mac, h := range t.hosts {
		if h.pending > 0 && now.Sub(h.last) >= idle {
			out[mac] = t.take(mac)
		}
	}
	return out
}

// Summary is steps as one line for an event's cause.
func Summary(steps []Step) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, " → ")
}

// Describe says how far a boot got, for an event whose boot stopped.
func Describe(steps []Step) string {
	if len(steps) == 0 {
		return ""
	}
	last := steps[len(steps)-1]
	return fmt.Sprintf("%s; stopped after %s at %s, no installer claim", Summary(steps), last.Step, last.Time.UTC().Format(time.RFC3339))
}

func (t *Trace) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Trace) maxSteps() int {
	if t.MaxSteps > 0 {
		return t.MaxSteps
	}
	return DefaultMaxSteps
}

func (t *Trace) maxHosts() int {
	if t.MaxHosts > 0 {
		return t.MaxHosts
	}
	return DefaultMaxHosts
}
