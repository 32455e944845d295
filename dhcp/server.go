package dhcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/inventory"
	"golang.org/x/sync/errgroup"
)

// Inventory is what the server needs of the host store; *inventory.DB
// has it. Host is answered from memory, so it may be called per packet.
type Inventory interface {
	Host(ctx context.Context, mac string) (inventory.Host, error)
	Hosts(ctx context.Context, q inventory.Query) (inventory.Page, error)
	Subscribe(ctx context.Context) <-chan inventory.Change
}

// Enlister adds an unknown netbooting MAC to the inventory as discovered
// (provision.Lifecycle does, when discovery is on); ErrExists when it is
// known.
type Enlister interface {
	Enlist(ctx context.Context, mac, actor string) (inventory.Host, error)
}

// LeaseStore keeps leases across restarts; *inventory.DB has it.
// WriteLeases must return only once the changes are durable.
type LeaseStore interface {
	Leases() ([]inventory.Lease, error)
	WriteLeases(ctx context.Context, changes []inventory.LeaseChange) error
}

// Server is the DHCP server. Fill in the fields, then call Serve. Zero
// fields take the defaults documented on them; Inventory and ServerIP are
// required, and Leases too in full and reservation modes.
type Server struct {
	Mode      Mode       // default ModeProxy, the one that cannot break a network
	ServerIP  netip.Addr // our address on the segment: option 54, siaddr, TFTP server
	Inventory Inventory
	Leases    LeaseStore
	Logger    *slog.Logger // silent when nil

	// Subnets to hand out addresses on. Local requests are served from the
	// one containing ServerIP, relayed ones from the one containing giaddr.
	Subnets   []Subnet
	LeaseTime time.Duration // default 1h; a Subnet's own overrides it
	// OfferHold is how long an offered address is kept for its client;
	// default 30s.
	OfferHold time.Duration
	// Quarantine is how long a DECLINEd address is not handed out; default 10m.
	Quarantine time.Duration
	// DeclinesPerClient is how many addresses one MAC may put in
	// quarantine a Quarantine period; default 2. DeclineShare is the most
	// of a subnet's pool in quarantine at once, in percent; default 10. A
	// DECLINE beyond either frees the address instead.
	DeclinesPerClient, DeclineShare int

	// Boot is the boot decision's configuration (the machine-facing URL,
	// the arm64 loader, no boot file for deployed hosts, no discovery):
	// every answer's boot file comes from boot.Decide with it.
	Boot boot.Config
	// Trace records each ACK's boot file and binds the client's address
	// to its MAC for the other boot steps; nil records nothing.
	Trace *boottrace.Trace
	// Enlister enlists unknown netbooting MACs, off the packet path; nil
	// (or Boot.NoDiscovery) enlists none.
	Enlister Enlister

	// ProbeListen opens the socket (UDP port 68 on the interface) that
	// looks for other DHCP servers; no probing when nil.
	ProbeListen   func() (net.PacketConn, error)
	ProbeInterval time.Duration // between probes; default 10m
	// ProbeWait is how long a probe waits for offers; default 4s, because
	// some servers (dnsmasq) ping an address before offering it.
	ProbeWait time.Duration
	// AllowOtherServers lets full mode start although another DHCP server
	// answered the probe.
	AllowOtherServers bool

	// OnReady, when set, is called once Serve has loaded its state (and
	// probed, in full mode) and starts answering.
	OnReady func()

	LogInterval time.Duration // at most one "pool dry"/"other server" line per this; default 1m
	CommitBatch int           // most lease changes per transaction; default 4096

	log         *slog.Logger
	subnets     []*subnet
	leases      *leaseIndex
	loaded      atomic.Pointer[leaseIndex] // leases, once loaded: what Stats may read
	activeCount struct {                   // Stats' cached count of active leases
		mu sync.Mutex
		at time.Time
		n  int
	}
	reserved  *reservations
	declined  *declines // guarded by leases.mu
	commits   *committer
	discovery *discoverer
	others    otherServers
	limiter   logLimiter
	stats     counters
}

// ErrOtherServer is returned by Serve in full mode when another DHCP server
// answers on the segment and AllowOtherServers is not set.
var ErrOtherServer = errors.New("another DHCP server answers on this segment")

// Serve answers DHCP on conns (port 67, and 4011 in proxy mode) until ctx
// ends, then closes them and returns nil. It first loads the leases, the
// reservations and, when ProbeListen is set, looks for other servers.
func (s *Server) Serve(ctx context.Context, conns ...net.PacketConn) error {
	defer closeAll(conns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	if err := s.init(); err != nil {
		return err
	}
	if s.Mode == ModeOff {
		return nil
	}
	if s.Mode.leases() {
		// Subscribed before the load, so no change falls between them.
		feed := s.Inventory.Subscribe(ctx)
		if err := s.loadLeases(ctx); err != nil {
			return err
		}
		g.Go(func() error { return s.reserved.follow(ctx, s.Inventory, feed) })
	}
	if err := s.checkOtherServers(ctx); err != nil {
		return err
	}
	g.Go(func() error { return s.commits.run(ctx) })
	g.Go(func() error { return s.discovery.run(ctx) })
	g.Go(func() error { return s.watchOtherServers(ctx) })
	for _, c := range conns {
		g.Go(func() error { return s.readLoop(ctx, c) })
	}
	if s.OnReady != nil {
		s.OnReady()
	}
	g.Go(func() error {
		<-ctx.Done()
		closeAll(conns) // ends the read loops
		return nil
	})
	return g.Wait()
}

func closeAll(conns []net.PacketConn) {
	for _, c := range conns {
		c.Close()
	}
}

// setup applies defaults and loads what the packet path reads from memory;
// Serve does the same in two steps, around its subscription to the feed.
func (s *Server) setup(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	if !s.Mode.leases() {
		return nil
	}
	return s.loadLeases(ctx)
}

// loadLeases loads the reservations and the stored leases (full and
// reservation modes: the only ones that hand out addresses).
func (s *Server) loadLeases(ctx context.Context) error {
	if err := s.reserved.load(ctx, s.Inventory); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	stored, err := s.Leases.Leases()
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	s.leases.load(stored)
	s.leases.mu.Lock()
	for _, l := range stored {
		if l.Declined && time.Now().Before(l.Expires) {
			s.declined.loaded(s.subnetOf(l.IP), l.Expires)
		}
	}
	s.leases.mu.Unlock()
	s.loaded.Store(s.leases)
	s.log.Info("dhcp leases loaded", "leases", len(stored), "active", s.leases.active(time.Now()))
	return nil
}

// init checks the configuration, fills in defaults and makes the
// in-memory state empty. Serve calls it; tests that drive handle directly
// call setup.
func (s *Server) init() error {
	s.Mode = cmp.Or(s.Mode, ModeProxy)
	if _, err := ParseMode(string(s.Mode)); err != nil {
		return err
	}
	if !s.ServerIP.Is4() || s.Inventory == nil || (s.Mode.leases() && s.Leases == nil) {
		return fmt.Errorf("dhcp: ServerIP (IPv4), Inventory and, in %s mode, Leases are required", s.Mode)
	}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.LeaseTime = cmp.Or(s.LeaseTime, time.Hour)
	s.OfferHold = cmp.Or(s.OfferHold, 30*time.Second)
	s.Quarantine = cmp.Or(s.Quarantine, 10*time.Minute)
	s.DeclinesPerClient = cmp.Or(s.DeclinesPerClient, 2)
	s.DeclineShare = cmp.Or(s.DeclineShare, 10)
	s.ProbeInterval = cmp.Or(s.ProbeInterval, 10*time.Minute)
	s.ProbeWait = cmp.Or(s.ProbeWait, 4*time.Second)
	s.LogInterval = cmp.Or(s.LogInterval, time.Minute)
	s.CommitBatch = cmp.Or(s.CommitBatch, 4096)
	s.subnets = s.subnets[:0]
	for _, n := range s.Subnets {
		if err := n.Validate(); err != nil {
			return fmt.Errorf("dhcp: %w", err)
		}
		s.subnets = append(s.subnets, newSubnet(n))
	}
	s.leases = newLeaseIndex()
	s.declined = newDeclines(s.DeclinesPerClient, s.DeclineShare)
	s.reserved = newReservations()
	s.commits = newCommitter(s.Leases, s.CommitBatch, s.log, &s.stats)
	s.discovery = newDiscoverer(s.Enlister, s.log, &s.stats)
	s.limiter = logLimiter{every: s.LogInterval}
	return nil
}

// subnetFor is the subnet a request is served from: the relay's when
// relayed, our own otherwise.
func (s *Server) subnetFor(giaddr netip.Addr) *subnet {
	at := s.ServerIP
	if giaddr.IsValid() {
		at = giaddr
	}
	for _, n := range s.subnets {
		if n.Prefix.Contains(at) {
			return n
		}
	}
	return nil
}
