package main

import (
	"context"
	"fmt"
	"github.com/rackboot/rackboot/boottrace"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
	"github.com/spf13/pflag"
)

// dhcpConfig is the DHCP server's part of serveConfig.
type dhcpConfig struct {
	Interface         string
	Mode              string
	Range             string
	Router            string
	DNS               []string
	Domain            string
	LeaseTime         time.Duration
	Relays            relaySubnets
	ARM64BootFile     string
	NoBootDeployed    bool
	AllowOtherServers bool
	ProbeInterval     time.Duration
	Quarantine        time.Duration
	DeclinesPerClient int
	DeclineShare      int
}

func addDHCPFlags(f *pflag.FlagSet, c *dhcpConfig) {
	f.StringVar(&c.Interface, "interface", "", "provisioning network interface; DHCP runs only when it is set")
	f.StringVar(&c.Mode, "dhcp-mode", string(dhcp.ModeProxy), "DHCP mode: proxy (boot information beside another DHCP server), full (addresses too), reservation (known MACs only), off")
	f.StringVar(&c.Range, "dhcp-range", "", "dynamic pool on --interface's subnet, FIRST-LAST (full mode)")
	f.StringVar(&c.Router, "dhcp-router", "", "router (option 3) for --interface's subnet")
	f.StringSliceVar(&c.DNS, "dhcp-dns", nil, "DNS servers (option 6) for --interface's subnet, comma-separated")
	f.StringVar(&c.Domain, "dhcp-domain", "", "domain name (option 15) for --interface's subnet")
	f.DurationVar(&c.LeaseTime, "dhcp-lease-time", time.Hour, "lease time")
	f.Var(&c.Relays, "dhcp-relay-subnets", "subnets behind DHCP relays: CIDR=FIRST-LAST[,gw=IP][,dns=IP+IP][,domain=NAME][,lease=DURATION], several separated by commas")
	f.StringVar(&c.ARM64BootFile, "dhcp-arm64-boot-file", "", "TFTP file for UEFI arm64 PXE clients (none when empty)")
	f.BoolVar(&c.NoBootDeployed, "dhcp-no-boot-file-deployed", false, "answer deployed and active hosts without a boot file, so they boot their disk without netbooting")
	f.BoolVar(&c.AllowOtherServers, "dhcp-allow-other-servers", false, "start full mode even though another DHCP server answers on the interface")
	f.DurationVar(&c.ProbeInterval, "dhcp-probe-interval", 10*time.Minute, "how often to look for other DHCP servers on the interface")
	f.DurationVar(&c.Quarantine, "dhcp-decline-quarantine", 10*time.Minute, "how long an address a client declined is not handed out")
	f.IntVar(&c.DeclinesPerClient, "dhcp-declines-per-client", 2, "addresses one client may put in quarantine a quarantine period; more DECLINEs free the address")
	f.IntVar(&c.DeclineShare, "dhcp-decline-share", 10, "most of a pool in quarantine at once, in percent (at least one address)")
}

// dhcpService opens the DHCP sockets and returns the service that serves
// them; none when DHCP is off or no interface is given.
// With a member (an etcd inventory) in full or reservation mode, the
// server answers only while this appliance leads its network.
func dhcpService(c dhcpConfig, lc *provision.Lifecycle, store inventory.Store, trace *boottrace.Trace, member *cluster.Member, reg *prometheus.Registry, log *slog.Logger, hl *health) ([]service, []any, error) {
	mode, err := dhcp.ParseMode(c.Mode)
	if err != nil {
		return nil, nil, fmt.Errorf("--dhcp-mode: %w", err)
	}
	if mode == dhcp.ModeOff || c.Interface == "" {
		return nil, []any{"dhcp", "off"}, nil
	}
	srv, err := c.server(mode, lc, store, log.With("part", "dhcp"))
	if err != nil {
		return nil, nil, err
	}
	srv.Trace = trace
	reg.MustRegister(dhcpCollector{srv})
	hl.dhcp = srv
	info := []any{"dhcp", string(mode), "dhcp_interface", c.Interface, "dhcp_server_ip", srv.ServerIP.String()}
	if es, ok := store.(*inventory.Etcd); ok && member != nil && mode != dhcp.ModeProxy {
		network := srv.Subnets[0].Prefix.String()
		// The probe for other servers warns but does not hold a new
		// leader back: a takeover must not wait ProbeWait while the
		// election already keeps the peers quiet.
		srv.AllowOtherServers = true
		svc := func(ctx context.Context) error {
			return member.Lead(ctx, network, func(ctx context.Context, f inventory.Fence) error {
				return c.serveTerm(ctx, srv, mode, es.FencedLeases(f))
			})
		}
		return []service{svc}, append(info, "dhcp_authority", "etcd election on "+network), nil
	}
	conns, err := c.listen(mode)
	if err != nil {
		return nil, nil, err
	}
	svc := func(ctx context.Context) error { return srv.Serve(ctx, conns...) }
	return []service{svc}, info, nil
}

// serveTerm serves DHCP for one term of leadership, with lease writes
// fenced on it. Serve loads the leases afresh, as the last leader left
// them; sockets are opened for the term and closed with it, so a
// follower does not even read DHCP.
func (c *dhcpConfig) serveTerm(ctx context.Context, srv *dhcp.Server, mode dhcp.Mode, leases inventory.LeaseStore) error {
	conns, err := c.listen(mode)
	if err != nil {
		return err
	}
	srv.Leases = leases
	return srv.Serve(ctx, conns...)
}

func (c *dhcpConfig) listen(mode dhcp.Mode) ([]net.PacketConn, error) {
	ports := []int{67}
	if mode == dhcp.ModeProxy {
		ports = append(ports, 4011)
	}
	var conns []net.PacketConn
	for _, p := range ports {
		conn, err := dhcp.Listen(c.Interface, p)
		if err != nil {
			for _, o := range conns {
				o.Close()
			}
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

func (c *dhcpConfig) server(mode dhcp.Mode, lc *provision.Lifecycle, store inventory.Store, log *slog.Logger) (*dhcp.Server, error) {
	local, err := interfacePrefix(c.Interface)
	if err != nil {
		return nil, err
	}
	own, err := c.localSubnet(local)
	if err != nil {
		return nil, err
	}
	iface := c.Interface
	return &dhcp.Server{
		Mode: mode, ServerIP: local.Addr(), Inventory: store, Leases: store, Logger: log,
		Subnets: append([]dhcp.Subnet{own}, c.Relays...), LeaseTime: c.LeaseTime, Quarantine: c.Quarantine,
		DeclinesPerClient: c.DeclinesPerClient, DeclineShare: c.DeclineShare,
		Boot:              lc.Boot(),
		Enlister:          lc,
		AllowOtherServers: c.AllowOtherServers, ProbeInterval: c.ProbeInterval,
		ProbeListen: func() (net.PacketConn, error) { return dhcp.Listen(iface, 68) },
	}, nil
}

// localSubnet is --interface's own subnet with the --dhcp-* settings.
func (c *dhcpConfig) localSubnet(p netip.Prefix) (dhcp.Subnet, error) {
	n := dhcp.Subnet{Prefix: p.Masked(), Domain: c.Domain}
	var err error
	if c.Range != "" {
		if n.First, n.Last, err = parseRange(c.Range); err != nil {
			return n, fmt.Errorf("--dhcp-range: %w", err)
		}
	}
	if c.Router != "" {
		if n.Router, err = netip.ParseAddr(c.Router); err != nil {
			return n, fmt.Errorf("--dhcp-router: %w", err)
		}
	}
	if n.DNS, err = parseAddrs(c.DNS); err != nil {
		return n, fmt.Errorf("--dhcp-dns: %w", err)
	}
	if err := n.Validate(); err != nil {
		return n, fmt.Errorf("--dhcp-range on %s: %w", c.Interface, err)
	}
	return n, nil
}

// interfacePrefix is the interface's first IPv4 address, with its prefix.
func interfacePrefix(name string) (netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--interface: %w", err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--interface %s: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			ones, _ := ipn.Mask.Size()
			ip, _ := netip.AddrFromSlice(ipn.IP.To4())
			return netip.PrefixFrom(ip, ones), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("--interface %s has no IPv4 address", name)
}

func parseRange(s string) (first, last netip.Addr, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return first, last, fmt.Errorf("%q: want FIRST-LAST", s)
	}
	if first, err = netip.ParseAddr(a); err != nil {
		return first, last, err
	}
	last, err = netip.ParseAddr(b)
	return first, last, err
}

func parseAddrs(ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// relaySubnets is --dhcp-relay-subnets. Values are split on commas; a
// part that starts with a CIDR begins a subnet and key=value parts after
// it belong to it, so a YAML list (joined with commas) reads the same.
type relaySubnets []dhcp.Subnet

func (r *relaySubnets) String() string {
	parts := make([]string, len(*r))
	for i, n := range *r {
		parts[i] = fmt.Sprintf("%v=%v-%v", n.Prefix, n.First, n.Last)
	}
	return strings.Join(parts, ",")
}

func (r *relaySubnets) Type() string { return "subnets" }

func (r *relaySubnets) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if err := r.add(part); err != nil {
			return err
		}
	}
	return nil
}

func (r *relaySubnets) add(part string) error {
	k, v, _ := strings.Cut(part, "=")
	if strings.Contains(k, "/") {
		p, err := netip.ParsePrefix(k)
		if err != nil {
			return err
		}
		n := dhcp.Subnet{Prefix: p.Masked()}
		if n.First, n.Last, err = parseRange(v); err != nil {
			return err
		}
		if err := n.Validate(); err != nil {
			return err
		}
		*r = append(*r, n)
		return nil
	}
	if len(*r) == 0 {
		return fmt.Errorf("%q: a subnet starts with CIDR=FIRST-LAST", part)
	}
	return setSubnetField(&(*r)[len(*r)-1], k, v)
}

func setSubnetField(n *dhcp.Subnet, k, v string) error {
	var err error
	switch k {
	case "gw", "router":
		n.Router, err = netip.ParseAddr(v)
	case "dns":
		n.DNS, err = parseAddrs(strings.Split(v, "+"))
	case "domain":
		n.Domain = v
	case "lease":
		n.LeaseTime, err = time.ParseDuration(v)
	default:
		return fmt.Errorf("%s=%s: want gw, dns, domain or lease", k, v)
	}
	return err
}

// dhcpCollector exposes dhcp.Server.Stats as Prometheus metrics.
type dhcpCollector struct{ srv *dhcp.Server }

var (
	dhcpPacketsDesc = prometheus.NewDesc("rackboot_dhcp_packets_total", "DHCP packets by what became of them.", []string{"outcome"}, nil)
	dhcpCommitsDesc = prometheus.NewDesc("rackboot_dhcp_lease_commits_total", "Lease changes made durable, and the transactions that did it.", []string{"what"}, nil)
	dhcpEventsDesc  = prometheus.NewDesc("rackboot_dhcp_events_total", "DHCP events worth alerting on.", []string{"event"}, nil)
	dhcpActiveDesc  = prometheus.NewDesc("rackboot_dhcp_active_leases", "Bound, unexpired leases.", nil, nil)
	dhcpOthersDesc  = prometheus.NewDesc("rackboot_dhcp_other_servers", "Other DHCP servers that answered the latest probe.", nil, nil)
)

func (dhcpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dhcpPacketsDesc, dhcpCommitsDesc, dhcpEventsDesc, dhcpActiveDesc, dhcpOthersDesc} {
		ch <- d
	}
}

func (c dhcpCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	counter := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	for label, v := range map[string]uint64{"received": st.Received, "malformed": st.Malformed, "ignored": st.Ignored,
		"no_subnet": st.NoSubnet, "offer": st.Offers, "ack": st.Acks, "nak": st.Naks, "inform": st.Informs,
		"decline": st.Declines, "decline_refused": st.DeclinesRefused, "release": st.Releases, "queue_full": st.QueueFull, "send_error": st.SendErrors} {
		counter(dhcpPacketsDesc, v, label)
	}
	counter(dhcpCommitsDesc, st.LeasesCommitted, "leases")
	counter(dhcpCommitsDesc, st.CommitBatches, "transactions")
	counter(dhcpCommitsDesc, st.CommitErrors, "errors")
	counter(dhcpEventsDesc, st.PoolExhausted, "pool_exhausted")
	counter(dhcpEventsDesc, st.OtherServerSeen, "other_server_seen")
	counter(dhcpEventsDesc, st.Discovered, "host_discovered")
	counter(dhcpEventsDesc, st.DiscoveryDropped, "discovery_dropped")
	ch <- prometheus.MustNewConstMetric(dhcpActiveDesc, prometheus.GaugeValue, float64(st.ActiveLeases))
	ch <- prometheus.MustNewConstMetric(dhcpOthersDesc, prometheus.GaugeValue, float64(len(c.srv.OtherServers())))
}
