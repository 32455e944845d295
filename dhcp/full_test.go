package dhcp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rackboot/rackboot/inventory"
)

// dora runs DISCOVER and REQUEST through handle and returns the ACK and
// its lease change.
func dora(t *testing.T, s *Server, hw net.HardwareAddr, mods ...dhcpv4.Modifier) (*dhcpv4.DHCPv4, response) {
	t.Helper()
	offer, _ := answer(t, s, request(t, hw, dhcpv4.MessageTypeDiscover, mods...), 67)
	if offer == nil {
		t.Fatalf("%v: no offer", hw)
	}
	m := append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)))
	ack, r := answer(t, s, request(t, hw, dhcpv4.MessageTypeRequest, m...), 67)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("%v: no ack for %v: %v", hw, offer.YourIPAddr, ack)
	}
	if r.change == nil || len(r.change.Put) != 1 || r.change.Put[0].IP != ipOf(ack.YourIPAddr) {
		t.Fatalf("ack without its lease change: %+v", r.change)
	}
	return ack, r
}

func TestLeaseOptions(t *testing.T) {
	s, _ := newHandler(t, nil)
	ack, r := dora(t, s, mac(1), dhcpv4.WithOption(dhcpv4.OptHostName("node1")))
	if ip := ipOf(ack.YourIPAddr); !s.subnets[0].inPool(ip) {
		t.Errorf("address %v outside the pool", ip)
	}
	if got := ack.SubnetMask().String(); got != "ffffff00" {
		t.Errorf("mask %s", got)
	}
	if len(ack.Router()) != 1 || !ack.Router()[0].Equal(net.ParseIP("10.0.0.1")) || len(ack.DNS()) != 1 || ack.DomainName() != "lab.example" {
		t.Errorf("router %v dns %v domain %q", ack.Router(), ack.DNS(), ack.DomainName())
	}
	if ack.HostName() != "node1" || ack.IPAddressLeaseTime(0) != s.LeaseTime || ack.IPAddressRenewalTime(0) != s.LeaseTime/2 {
		t.Errorf("hostname %q lease %v t1 %v", ack.HostName(), ack.IPAddressLeaseTime(0), ack.IPAddressRenewalTime(0))
	}
	if r.to.IP.String() != "255.255.255.255" || r.to.Port != 68 {
		t.Errorf("reply to %v, want broadcast:68", r.to)
	}
}

func TestDistinctAddressesAndDryPool(t *testing.T) {
	s, _ := newHandler(t, nil)
	seen := map[netip.Addr]bool{}
	for i := range 10 {
		ack, _ := dora(t, s, mac(i))
		ip := ipOf(ack.YourIPAddr)
		if seen[ip] {
			t.Fatalf("%v handed out twice", ip)
		}
		seen[ip] = true
	}
	if got, _ := answer(t, s, request(t, mac(99), dhcpv4.MessageTypeDiscover), 67); got != nil {
		t.Fatalf("offer %v from a full pool", got.YourIPAddr)
	}
	if s.Stats().PoolExhausted != 1 {
		t.Errorf("pool exhaustion not counted: %+v", s.Stats())
	}
	// The same client asking again keeps its address.
	again, _ := dora(t, s, mac(3))
	if !seen[ipOf(again.YourIPAddr)] {
		t.Errorf("returning client got a new address %v", again.YourIPAddr)
	}
}

func TestRelayedRequest(t *testing.T) {
	s, _ := newHandler(t, nil)
	relay := dhcpv4.WithGatewayIP(net.ParseIP("10.1.0.1"))
	ack, r := dora(t, s, mac(1), relay, dhcpv4.WithGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 2, 'p', '1'}))
	if ip := ipOf(ack.YourIPAddr); !testRelayed.Prefix.Contains(ip) {
		t.Errorf("relayed client got %v, want one in %v", ip, testRelayed.Prefix)
	}
	if r.to.String() != "10.1.0.1:67" || !ack.Router()[0].Equal(net.ParseIP("10.1.0.1")) {
		t.Errorf("reply to %v router %v", r.to, ack.Router())
	}
	if !ack.Options.Has(dhcpv4.OptionRelayAgentInformation) {
		t.Error("option 82 not echoed to the relay")
	}
	unknown := request(t, mac(2), dhcpv4.MessageTypeDiscover, dhcpv4.WithGatewayIP(net.ParseIP("192.168.9.1")))
	if got, _ := answer(t, s, unknown, 67); got != nil || s.Stats().NoSubnet != 1 {
		t.Errorf("relay from an unconfigured subnet answered (%v) or not counted", got)
	}
}

func TestReservations(t *testing.T) {
	s, db := newHandler(t, nil)
	ctx := context.Background()
	if _, err := db.CreateHost(ctx, inventory.Host{MAC: mac(1).String(), IP: "10.0.0.100", Hostname: "res"}, "test"); err != nil {
		t.Fatal(err)
	}
	s.reserved.load(ctx, db) // Serve follows the feed; handle alone does not
	other, _ := dora(t, s, mac(2))
	if ipOf(other.YourIPAddr) == netip.MustParseAddr("10.0.0.100") {
		t.Fatal("reserved address given to another client")
	}
	ack, _ := dora(t, s, mac(1))
	if ipOf(ack.YourIPAddr) != netip.MustParseAddr("10.0.0.100") || ack.HostName() != "res" {
		t.Errorf("reserved host got %v %q", ack.YourIPAddr, ack.HostName())
	}
}

func TestReservationMode(t *testing.T) {
	s, db := newHandler(t, func(s *Server) { s.Mode = ModeReservation })
	if got, _ := answer(t, s, request(t, mac(1), dhcpv4.MessageTypeDiscover), 67); got != nil {
		t.Fatal("unknown MAC answered in reservation mode")
	}
	if _, err := db.CreateHost(context.Background(), inventory.Host{MAC: mac(1).String(), IP: "10.0.0.50"}, "test"); err != nil {
		t.Fatal(err)
	}
	ack, _ := dora(t, s, mac(1))
	if ipOf(ack.YourIPAddr) != netip.MustParseAddr("10.0.0.50") {
		t.Errorf("known MAC got %v", ack.YourIPAddr)
	}
}

func TestNakOnlyPlainClients(t *testing.T) {
	s, _ := newHandler(t, nil)
	dora(t, s, mac(1))
	taken := s.leases.current(mac(1).String()).ip
	steal := dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(taken.AsSlice()))
	nak, _ := answer(t, s, request(t, mac(2), dhcpv4.MessageTypeRequest, steal), 67)
	if nak == nil || nak.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("INIT-REBOOT for another's address: %v, want NAK", nak)
	}
	m := append(pxe(iana.INTEL_X86PC), steal)
	if got, _ := answer(t, s, request(t, mac(3), dhcpv4.MessageTypeRequest, m...), 67); got != nil {
		t.Fatalf("PXE client answered %v; it must get silence, never a NAK", got.MessageType())
	}
}

func TestDeclineReleaseInform(t *testing.T) {
	s, _ := newHandler(t, nil)
	ack, _ := dora(t, s, mac(1))
	ip := ack.YourIPAddr
	_, r := answer(t, s, request(t, mac(1), dhcpv4.MessageTypeDecline, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip))), 67)
	if r.change == nil || len(r.change.Put) != 1 || !r.change.Put[0].Declined {
		t.Fatalf("decline stored %+v, want a quarantined lease", r.change)
	}
	next, _ := dora(t, s, mac(1))
	if next.YourIPAddr.Equal(ip) {
		t.Fatal("quarantined address offered again")
	}
	_, r = answer(t, s, request(t, mac(1), dhcpv4.MessageTypeRelease, dhcpv4.WithClientIP(next.YourIPAddr)), 67)
	if r.change == nil || len(r.change.Delete) != 1 || s.leases.current(mac(1).String()) != nil {
		t.Fatalf("release: change %+v", r.change)
	}
	inf, r := answer(t, s, request(t, mac(5), dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.ParseIP("10.0.0.7"))), 67)
	if inf == nil || inf.MessageType() != dhcpv4.MessageTypeAck || !inf.YourIPAddr.IsUnspecified() ||
		inf.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || r.to.String() != "10.0.0.7:68" {
		t.Fatalf("inform answered %v to %v", inf, r.to)
	}
}

func TestProxyMode(t *testing.T) {
	s, _ := newHandler(t, func(s *Server) { s.Mode = ModeProxy })
	if got, _ := answer(t, s, request(t, mac(1), dhcpv4.MessageTypeDiscover), 67); got != nil {
		t.Fatal("proxy mode answered a plain client")
	}
	offer, _ := answer(t, s, request(t, mac(1), dhcpv4.MessageTypeDiscover, pxe(iana.EFI_X86_64)...), 67)
	if offer == nil || !offer.YourIPAddr.IsUnspecified() || offer.BootFileName != "ipxe.efi" || offer.ClassIdentifier() != "PXEClient" {
		t.Fatalf("proxy offer %v", offer)
	}
	src := &net.UDPAddr{IP: net.ParseIP("10.0.0.150"), Port: 4011}
	r, ok := s.handle(request(t, mac(1), dhcpv4.MessageTypeRequest, pxe(iana.EFI_X86_64)...), src, 4011)
	if !ok || r.reply.MessageType() != dhcpv4.MessageTypeAck || r.to != src || r.change != nil {
		t.Fatalf("port 4011 request: %+v", r)
	}
}

// TestDeclineStorm: clients that DECLINE every address they get cannot
// empty the pool: one client quarantines at most DeclinesPerClient
// addresses, all of them together at most DeclineShare percent of the
// pool, and a good client still gets an address at the end. What is
// stored after the storm, and so survives a restart, is bounded alike.
func TestDeclineStorm(t *testing.T) {
	small := Subnet{Prefix: netip.MustParsePrefix("10.0.0.0/24"), First: netip.MustParseAddr("10.0.0.100"),
		Last: netip.MustParseAddr("10.0.0.128")} // 29 addresses, as in the attack reported
	s, db := newHandler(t, func(s *Server) { s.Subnets = []Subnet{small} })
	decline := func(hw net.HardwareAddr) response {
		t.Helper()
		ack, r := dora(t, s, hw)
		if err := db.WriteLeases(context.Background(), []inventory.LeaseChange{*r.change}); err != nil {
			t.Fatal(err)
		}
		_, r = answer(t, s, request(t, hw, dhcpv4.MessageTypeDecline, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ack.YourIPAddr))), 67)
		if r.change == nil {
			t.Fatalf("%v: DECLINE of its own address ignored", hw)
		}
		if err := db.WriteLeases(context.Background(), []inventory.LeaseChange{*r.change}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	quarantined := 0
	for i := range 3 { // one client, three DECLINEs: two quarantines, then a release
		r := decline(mac(1))
		if len(r.change.Put) == 1 && r.change.Put[0].Declined {
			quarantined++
		} else if i < 2 || len(r.change.Delete) != 1 {
			t.Fatalf("DECLINE %d of one client: %+v", i, r.change)
		}
	}
	if quarantined != 2 {
		t.Fatalf("one client quarantined %d addresses, want 2", quarantined)
	}
	for i := 2; i < 31; i++ { // 29 more clients, each declining what it gets
		r := decline(mac(i))
		if len(r.change.Put) == 1 && r.change.Put[0].Declined {
			quarantined++
		}
	}
	if quarantined != 2 || s.Stats().DeclinesRefused != 30 {
		t.Fatalf("%d quarantined after the storm (%d DECLINEs refused), want the 10%% share: 2", quarantined, s.Stats().DeclinesRefused)
	}
	if ack, _ := dora(t, s, mac(99)); !small.Prefix.Contains(ipOf(ack.YourIPAddr)) {
		t.Fatalf("a good client after the storm got %v", ack.YourIPAddr)
	}
	stored, _ := db.Leases()
	n := 0
	for _, l := range stored {
		if l.Declined {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d quarantines stored (they survive a restart), want 2", n)
	}
	// After a restart the bound holds: the two stored quarantines count.
	s2, _ := newHandlerOn(t, db, func(s *Server) { s.Subnets = []Subnet{small} })
	if ok, why := s2.declined.admit(mac(200).String(), s2.subnets[0], time.Now(), time.Now().Add(time.Minute)); ok {
		t.Fatalf("a third quarantine admitted after a restart (%s)", why)
	}
}
