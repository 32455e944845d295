package dhcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// OtherServer is another DHCP server that answered our probe.
type OtherServer struct {
	IP      netip.Addr `json:"ip"`      // its server identifier
	Offered netip.Addr `json:"offered"` // the address it offered the probe
	SeenAt  time.Time  `json:"seen_at"`
}

// otherServers holds what the latest probe found. It is state of the
// server, not of a host: the inventory's event log is per host, so the
// finding is a log line, a counter and OtherServers() for the web layer.
type otherServers struct {
	mu   sync.Mutex
	last []OtherServer
}

// OtherServers returns the DHCP servers other than us that answered the
// latest probe; empty when none did or probing is off.
func (s *Server) OtherServers() []OtherServer {
	s.others.mu.Lock()
	defer s.others.mu.Unlock()
	return slices.Clone(s.others.last)
}

// probeMAC is the client address of our probes: locally administered, and
// fixed so that our own server recognises (and ignores) the probe.
var probeMAC = net.HardwareAddr{0x02, 'r', 'b', 0, 0, 1}

func isProbe(hw net.HardwareAddr) bool { return bytes.Equal(hw, probeMAC) }

// blockingProbe: in full mode another server is a reason not to start,
// since two servers handing out addresses on one segment give clients
// conflicting leases; so Serve waits for the first probe. Other modes probe
// in the background.
func (s *Server) blockingProbe() bool {
	return s.ProbeListen != nil && s.Mode == ModeFull && !s.AllowOtherServers
}

// checkOtherServers runs the first probe when it must come before serving.
func (s *Server) checkOtherServers(ctx context.Context) error {
	if !s.blockingProbe() {
		return nil
	}
	found, err := s.probe(ctx)
	if err != nil {
		s.log.Warn("dhcp probe for other servers failed; starting anyway", "err", err)
		return nil
	}
	if len(found) > 0 {
		return fmt.Errorf("dhcp: %w: %v offered %v to our probe; serve beside it with AllowOtherServers, or use proxy mode",
			ErrOtherServer, found[0].IP, found[0].Offered)
	}
	return nil
}

// watchOtherServers probes every ProbeInterval (and at once, unless
// checkOtherServers just did) until ctx ends.
func (s *Server) watchOtherServers(ctx context.Context) error {
	if s.ProbeListen == nil {
		return nil
	}
	if !s.blockingProbe() {
		s.probeLogged(ctx)
	}
	t := time.NewTicker(s.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.probeLogged(ctx)
		}
	}
}

func (s *Server) probeLogged(ctx context.Context) {
	if _, err := s.probe(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("dhcp probe for other servers failed", "err", err)
	}
}

// probe broadcasts a DISCOVER and notes the other servers that answer.
func (s *Server) probe(ctx context.Context) ([]OtherServer, error) {
	conn, err := s.ProbeListen()
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	found, err := Probe(ctx, conn, s.ProbeWait, s.ServerIP)
	if err != nil {
		return nil, err
	}
	s.noteOtherServers(found)
	return found, nil
}

// Probe broadcasts a DISCOVER on conn (a socket on client port 68 bound to
// the interface: Listen(iface, 68)), with the broadcast flag set so
// answers come back broadcast, and returns the servers other than self
// (the zero Addr: any) whose OFFERs arrive within wait. It closes conn.
// `rackboot doctor` asks it before the first start; the server, while it
// runs.
func Probe(ctx context.Context, conn net.PacketConn, wait time.Duration, self netip.Addr) ([]OtherServer, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	xid := probeXID()
	if _, err := conn.WriteTo(probeDiscover(xid).ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: serverPort}); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	return collectOffers(conn, xid, self), nil
}

func probeXID() dhcpv4.TransactionID {
	var x dhcpv4.TransactionID
	binary.BigEndian.PutUint32(x[:], rand.Uint32())
	return x
}

func probeDiscover(xid dhcpv4.TransactionID) *dhcpv4.DHCPv4 {
	d := &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootRequest, HWType: iana.HWTypeEthernet, TransactionID: xid,
		ClientHWAddr: probeMAC, ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4zero,
		ServerIPAddr: net.IPv4zero, GatewayIPAddr: net.IPv4zero, Options: dhcpv4.Options{},
	}
	d.SetBroadcast()
	d.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeDiscover))
	d.UpdateOption(dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionServerIdentifier))
	return d
}

// collectOffers reads until the deadline (or the socket closes).
func collectOffers(conn net.PacketConn, xid dhcpv4.TransactionID, self netip.Addr) []OtherServer {
	var found []OtherServer
	buf := make([]byte, maxPacket)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return found
		}
		o, ok := otherOffer(buf[:n], from, xid, self)
		if ok && !slices.ContainsFunc(found, func(f OtherServer) bool { return f.IP == o.IP }) {
			found = append(found, o)
		}
	}
}

func otherOffer(raw []byte, from net.Addr, xid dhcpv4.TransactionID, self netip.Addr) (OtherServer, bool) {
	m, err := dhcpv4.FromBytes(raw)
	if err != nil || m.OpCode != dhcpv4.OpcodeBootReply || m.TransactionID != xid || m.MessageType() != dhcpv4.MessageTypeOffer {
		return OtherServer{}, false
	}
	ip := ipOf(m.ServerIdentifier())
	if u, ok := from.(*net.UDPAddr); ok && !ip.IsValid() {
		ip = ipOf(u.IP)
	}
	if !ip.IsValid() || ip == self {
		return OtherServer{}, false
	}
	return OtherServer{IP: ip, Offered: ipOf(m.YourIPAddr), SeenAt: time.Now()}, true
}

// noteOtherServers records a probe's findings: counted always, logged once
// per server per LogInterval. In proxy mode another server is expected.
func (s *Server) noteOtherServers(found []OtherServer) {
	s.others.mu.Lock()
	s.others.last = found
	s.others.mu.Unlock()
	for _, o := range found {
		s.stats.otherServers.Add(1)
		if !s.limiter.allow("other:"+o.IP.String(), o.SeenAt) {
			continue
		}
		if s.Mode == ModeProxy {
			s.log.Info("dhcp server beside us (expected in proxy mode)", "server", o.IP, "offered", o.Offered)
		} else {
			s.log.Warn("another DHCP server answers on this segment", "server", o.IP, "offered", o.Offered)
		}
	}
}
