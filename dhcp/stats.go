package dhcp

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the server's counters since it started, for metrics.
type Stats struct {
	Received         uint64 // packets read
	Malformed        uint64 // dropped: not a DHCP request we could parse
	Ignored          uint64 // well-formed but not ours to answer
	NoSubnet         uint64 // relayed from (or arrived on) a network with no configured subnet
	Offers           uint64
	Acks             uint64
	Naks             uint64
	Informs          uint64
	Declines         uint64
	DeclinesRefused  uint64 // beyond the per-client or pool-share bound
	Releases         uint64
	PoolExhausted    uint64 // DISCOVERs left unanswered because the pool was full
	QueueFull        uint64 // requests dropped because the commit queue was full
	LeasesCommitted  uint64 // lease changes made durable
	CommitBatches    uint64 // transactions that made them durable
	CommitErrors     uint64
	SendErrors       uint64
	Discovered       uint64 // hosts added to the inventory
	DiscoveryRefused uint64 // unknown netbooting MACs the inventory did not take
	DiscoveryDropped uint64 // discoveries dropped because the queue was full
	OtherServerSeen  uint64 // probe answers from another DHCP server
	ActiveLeases     int    // bound and unexpired, now
}

type counters struct {
	received, malformed, ignored, noSubnet                 atomic.Uint64
	offers, acks, naks, informs, declines, releases        atomic.Uint64
	declinesRefused, discoveryRefused                      atomic.Uint64
	poolExhausted, queueFull, commits, commitBatches       atomic.Uint64
	commitErrors, sendErrors, discovered, discoveryDropped atomic.Uint64
	otherServers                                           atomic.Uint64
}

// Stats returns a snapshot of the counters. Safe at any time, also before
// Serve (all zero then).
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Received: c.received.Load(), Malformed: c.malformed.Load(), Ignored: c.ignored.Load(),
		NoSubnet: c.noSubnet.Load(), Offers: c.offers.Load(), Acks: c.acks.Load(), Naks: c.naks.Load(),
		Informs: c.informs.Load(), Declines: c.declines.Load(), DeclinesRefused: c.declinesRefused.Load(), Releases: c.releases.Load(),
		PoolExhausted: c.poolExhausted.Load(), QueueFull: c.queueFull.Load(),
		LeasesCommitted: c.commits.Load(), CommitBatches: c.commitBatches.Load(),
		CommitErrors: c.commitErrors.Load(), SendErrors: c.sendErrors.Load(),
		Discovered: c.discovered.Load(), DiscoveryDropped: c.discoveryDropped.Load(), DiscoveryRefused: c.discoveryRefused.Load(),
		OtherServerSeen: c.otherServers.Load(),
	}
	if x := s.loaded.Load(); x != nil {
		st.ActiveLeases = s.activeLeases(x)
	}
	return st
}

// activeLeases counts active leases at most once a second: the count walks
// the whole index under the lock the packet path takes, and every metrics
// scrape and dashboard refresh asks for it.
func (s *Server) activeLeases(x *leaseIndex) int {
	c := &s.activeCount
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.at) >= time.Second {
		c.n, c.at = x.active(now), now
	}
	return c.n
}

// logLimiter lets one log line per key through per interval, so a flood
// (a dry pool, a rogue server) costs one line a minute, not one a packet.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	l.last[key] = now
	return true
}
