package dhcp

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rackboot/rackboot/inventory"
)

func TestRelayedRequestInLab(t *testing.T) {
	l, _, db := labServer(t, nil)
	relay := l.Node("relay", "10.0.0.3/24", "10.1.0.1/24")
	l.Get("srv").IP("route", "add", "10.1.0.0/24", "via", "10.0.0.3")
	c := newTestClient(t, relay, serverPort)
	server := &net.UDPAddr{IP: testServerIP.AsSlice(), Port: serverPort}
	gi := dhcpv4.WithGatewayIP(net.ParseIP("10.1.0.1"))
	offer := c.one(newPacket(t, mac(7), dhcpv4.MessageTypeDiscover, gi), server, dhcpv4.MessageTypeOffer)
	ack := c.one(requestFor(t, offer, gi), server, dhcpv4.MessageTypeAck)
	ip := ipOf(ack.YourIPAddr)
	if !testRelayed.Prefix.Contains(ip) || !ack.Router()[0].Equal(net.ParseIP("10.1.0.1")) {
		t.Fatalf("relayed client got %v router %v, want an address in %v", ip, ack.Router(), testRelayed.Prefix)
	}
	leases, _ := db.Leases()
	if len(leases) != 1 || leases[0].IP != ip || leases[0].MAC != mac(7).String() {
		t.Errorf("stored %+v", leases)
	}
}

func TestPXEDiscoversUnknownMAC(t *testing.T) {
	l, _, db := labServer(t, nil)
	c := newTestClient(t, l.Node("cl"), clientPort)
	offer := c.one(newPacket(t, mac(9), dhcpv4.MessageTypeDiscover, pxe(iana.EFI_X86_64)...), bcast67, dhcpv4.MessageTypeOffer)
	if offer.BootFileName != "ipxe.efi" {
		t.Errorf("boot file %q", offer.BootFileName)
	}
	var h inventory.Host
	waitFor(t, func() bool {
		var err error
		h, err = db.Host(context.Background(), mac(9).String())
		return err == nil
	})
	ev, err := db.Events(context.Background(), h.MAC, 10)
	if h.State != inventory.StateDiscovered || err != nil || len(ev) == 0 || ev[0].Actor != "dhcp" {
		t.Errorf("host %+v events %+v (%v)", h, ev, err)
	}
	c.one(newPacket(t, mac(10), dhcpv4.MessageTypeDiscover), bcast67, dhcpv4.MessageTypeOffer)
	time.Sleep(200 * time.Millisecond)
	if _, err := db.Host(context.Background(), mac(10).String()); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("a plain (non-PXE) client was enlisted: %v", err)
	}
}

// startDnsmasq runs dnsmasq as the segment's own DHCP server on n.
func startDnsmasq(t *testing.T, n *node) {
	t.Helper()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Skip("dnsmasq not installed")
	}
	dir := t.TempDir()
	cmd := n.Command(context.Background(), "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
		"--user=root", "--interface=eth0", "--bind-interfaces", "--dhcp-range=10.0.0.150,10.0.0.160,255.255.255.0,1h",
		"--log-dhcp", "--log-facility=-", "--no-ping",
		"--dhcp-leasefile="+filepath.Join(dir, "leases"), "--pid-file="+filepath.Join(dir, "pid"))
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	startClient(t, cmd)
	// Ready when its socket is bound (on a loaded machine, a fixed pause
	// was sometimes too short).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ := n.Command(context.Background(), "ss", "-Huln", "sport = :67").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("dnsmasq did not bind port 67 within 30 s")
		}
	}
}

func TestProxyBesideDnsmasq(t *testing.T) {
	l := newLab(t)
	startDnsmasq(t, l.Node("dns", "10.0.0.1/24"))
	srv := l.Node("srv", "10.0.0.2/24")
	db, _ := inventory.Open(t.TempDir(), inventory.Options{})
	t.Cleanup(func() { db.Close() })
	s := &Server{Mode: ModeProxy, ServerIP: testServerIP, Inventory: db, Logger: testLogger(t),
		ProbeListen: prober(srv), ProbeWait: 500 * time.Millisecond}
	serveIn(t, srv, s)
	cl := l.Node("cl")
	c := newTestClient(t, cl, clientPort)

	var addrOffer, bootOffer *dhcpv4.DHCPv4
	disc := newPacket(t, mac(3), dhcpv4.MessageTypeDiscover, pxe(iana.INTEL_X86PC)...)
	// A client retransmits; so does this one, until both servers have
	// answered (a loaded machine may start dnsmasq late).
	for try := 0; try < 10 && (addrOffer == nil || bootOffer == nil); try++ {
		for _, o := range c.ask(disc, bcast67, 1500*time.Millisecond, nil) {
			switch {
			case ipOf(o.YourIPAddr).IsValid():
				addrOffer = o
			case o.ServerIdentifier().Equal(testServerIP.AsSlice()):
				bootOffer = o
			}
		}
	}
	if addrOffer == nil || bootOffer == nil {
		t.Fatalf("offers: address %v, boot %v; want one of each", addrOffer, bootOffer)
	}
	if !addrOffer.ServerIdentifier().Equal(net.ParseIP("10.0.0.1")) || addrOffer.BootFileName != "" {
		t.Errorf("dnsmasq offer: server %v file %q", addrOffer.ServerIdentifier(), addrOffer.BootFileName)
	}
	if bootOffer.BootFileName != "undionly.kpxe" || !bootOffer.ServerIPAddr.Equal(testServerIP.AsSlice()) || bootOffer.ClassIdentifier() != "PXEClient" {
		t.Errorf("rackboot proxy offer: file %q siaddr %v class %q", bootOffer.BootFileName, bootOffer.ServerIPAddr, bootOffer.ClassIdentifier())
	}
	ack := c.one(requestFor(t, addrOffer, pxe(iana.INTEL_X86PC)...), bcast67, dhcpv4.MessageTypeAck)
	if !ack.ServerIdentifier().Equal(net.ParseIP("10.0.0.1")) || !ack.YourIPAddr.Equal(addrOffer.YourIPAddr) {
		t.Fatalf("address ACK from %v for %v", ack.ServerIdentifier(), ack.YourIPAddr)
	}
	// With its address, the ROM asks the boot server on port 4011.
	cl.IP("addr", "add", ack.YourIPAddr.String()+"/24", "dev", "eth0")
	pc := newTestClient(t, cl, 0)
	req := newPacket(t, mac(3), dhcpv4.MessageTypeRequest, append(pxe(iana.INTEL_X86PC), dhcpv4.WithClientIP(ack.YourIPAddr))...)
	boot := pc.one(req, &net.UDPAddr{IP: testServerIP.AsSlice(), Port: pxePort}, dhcpv4.MessageTypeAck)
	if boot.BootFileName != "undionly.kpxe" || ipOf(boot.YourIPAddr).IsValid() {
		t.Errorf("port 4011 ACK: file %q yiaddr %v", boot.BootFileName, boot.YourIPAddr)
	}
	if others := s.OtherServers(); len(others) != 1 || others[0].IP != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("other servers seen: %+v, want dnsmasq", others)
	}
}

func TestFullModeRefusesBesideAnotherServer(t *testing.T) {
	l := newLab(t)
	startDnsmasq(t, l.Node("dns", "10.0.0.1/24"))
	srv := l.Node("srv", "10.0.0.2/24")
	db, _ := inventory.Open(t.TempDir(), inventory.Options{})
	t.Cleanup(func() { db.Close() })
	s := &Server{Mode: ModeFull, ServerIP: testServerIP, Inventory: db, Leases: db, Subnets: []Subnet{testLocal},
		Logger: testLogger(t), ProbeListen: prober(srv), ProbeWait: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Serve(ctx, listenOn(t, srv, serverPort))
	if !errors.Is(err, ErrOtherServer) {
		t.Fatalf("Serve beside dnsmasq: %v, want ErrOtherServer", err)
	}
	if s.Stats().OtherServerSeen != 1 {
		t.Errorf("not counted: %+v", s.Stats())
	}
}

// bigSubnet has room for the perfdhcp runs.
func bigSubnet() Subnet {
	big := testLocal
	big.Prefix, big.First, big.Last = netip.MustParsePrefix("10.0.0.0/16"), netip.MustParseAddr("10.0.1.0"), netip.MustParseAddr("10.0.255.254")
	return big
}

func TestPerfdhcpThousandClients(t *testing.T) {
	l, s, db := labServer(t, func(s *Server) { s.Subnets = []Subnet{bigSubnet()} })
	perf := l.Node("perf", "10.0.0.10/16")
	out := perfdhcp(t, perf, "-r", "500", "-R", "1000000", "-n", "1000", "-u", "-d", "2", "-W", "1000000")
	sent, got := acksOf(t, out)
	if got < 1000 || sent != got {
		t.Errorf("REQUEST-ACK sent %d received %d, want 1000 of 1000\n%s", sent, got, out)
	}
	leases, err := db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	byMAC := map[string]netip.Addr{}
	for _, le := range leases {
		if prev, dup := byMAC[le.MAC]; dup {
			t.Errorf("%s holds %v and %v", le.MAC, prev, le.IP)
		}
		byMAC[le.MAC] = le.IP
	}
	// -R 1000000 picks each MAC at random, so a repeat or two is possible.
	if len(leases) < 990 || len(leases) > 1000 {
		t.Errorf("%d leases stored for 1000 clients; stats %+v", len(leases), s.Stats())
	}
}

// TestDiscoveryFlood: a flood of DISCOVERs from 50,000 made-up PXE MACs
// (perfdhcp, option 60 "PXEClient") enlists no more unknown machines than
// discovery's rate allows, keeps the appliance's memory bounded, and a
// known host still gets its address during it.
func TestDiscoveryFlood(t *testing.T) {
	l, s, db := labServer(t, func(s *Server) { s.Subnets = []Subnet{bigSubnet()} })
	const known = "52:54:00:00:aa:01"
	if _, err := db.CreateHost(context.Background(), inventory.Host{MAC: known, IP: "10.0.0.77"}, "test"); err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	perf := l.Node("perf", "10.0.0.10/16")
	start := time.Now()
	out := perfdhcp(t, perf, "-r", "5000", "-R", "50000", "-n", "50000", "-o", "60,"+hex.EncodeToString([]byte("PXEClient:Arch:00000:UNDI:002001")), "-W", "1000000")
	flood := time.Since(start)
	// A known host asks during the aftermath of the flood.
	c := newTestClient(t, l.Node("good"), clientPort)
	hw, _ := net.ParseMAC(known)
	offer := c.one(newPacket(t, hw, dhcpv4.MessageTypeDiscover), bcast67, dhcpv4.MessageTypeOffer)
	if !offer.YourIPAddr.Equal(net.ParseIP("10.0.0.77")) {
		t.Errorf("the known host was offered %v, want its reservation", offer.YourIPAddr)
	}
	waitFor(t, func() bool { return s.Stats().Discovered+s.Stats().DiscoveryRefused > 0 })
	time.Sleep(time.Second) // let the discovery queue drain
	page, _ := db.Hosts(context.Background(), inventory.Query{Limit: 1})
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := s.Stats()
	t.Logf("flood of %v: %d DISCOVERs received; %d hosts enlisted, %d refused, %d dropped from the queue; heap %d → %d MiB\n%s",
		flood.Round(time.Millisecond), st.Received, st.Discovered, st.DiscoveryRefused, st.DiscoveryDropped, before.HeapAlloc>>20, after.HeapAlloc>>20, firstLines(out, 12))
	// The default rate: 120 a minute, in bursts of 120.
	if page.Total-1 > 120+int(flood.Minutes()*120)+1 || st.Discovered > 200 {
		t.Errorf("%d hosts in the inventory after the flood (%d enlisted), want at most discovery's rate", page.Total, st.Discovered)
	}
	if st.Received < 10000 {
		t.Errorf("only %d packets received: the flood did not happen", st.Received)
	}
	if after.HeapAlloc > before.HeapAlloc+256<<20 {
		t.Errorf("heap grew from %d to %d MiB", before.HeapAlloc>>20, after.HeapAlloc>>20)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
