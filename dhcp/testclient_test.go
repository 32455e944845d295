package dhcp

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// testClient speaks DHCP over a UDP socket in a lab node: as a client
// (port 68, broadcasting) or as a relay agent (port 67, unicasting to the
// server with giaddr set).
type testClient struct {
	t    *testing.T
	conn net.PacketConn
}

func newTestClient(t *testing.T, n *node, port int) *testClient {
	c := &testClient{t: t, conn: listenOn(t, n, port)}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

var bcast67 = &net.UDPAddr{IP: net.IPv4bcast, Port: serverPort}

// ask sends p to `to` and returns the replies to it that arrive within
// wait, or as soon as enough says so.
func (c *testClient) ask(p *dhcpv4.DHCPv4, to *net.UDPAddr, wait time.Duration, enough func(*dhcpv4.DHCPv4) bool) []*dhcpv4.DHCPv4 {
	c.t.Helper()
	if _, err := c.conn.WriteTo(p.ToBytes(), to); err != nil {
		c.t.Fatal(err)
	}
	var out []*dhcpv4.DHCPv4
	buf := make([]byte, 2048)
	c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return out
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err == nil && r.OpCode == dhcpv4.OpcodeBootReply && r.TransactionID == p.TransactionID {
			out = append(out, r)
			if enough != nil && enough(r) {
				return out
			}
		}
	}
}

// one is ask for exactly one reply of type want.
func (c *testClient) one(p *dhcpv4.DHCPv4, to *net.UDPAddr, want dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	c.t.Helper()
	isWanted := func(r *dhcpv4.DHCPv4) bool { return r.MessageType() == want }
	for range 3 { // UDP: retry like a client would
		for _, r := range c.ask(p, to, time.Second, isWanted) {
			if isWanted(r) {
				return r
			}
		}
	}
	c.t.Fatalf("no %v to %v", want, p.MessageType())
	return nil
}

func newPacket(t *testing.T, hw net.HardwareAddr, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	p, err := dhcpv4.FromBytes(request(t, hw, typ, append(mods, dhcpv4.WithBroadcast(true))...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func requestFor(t *testing.T, offer *dhcpv4.DHCPv4, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m := append(mods, dhcpv4.WithTransactionID(offer.TransactionID),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)))
	return newPacket(t, offer.ClientHWAddr, dhcpv4.MessageTypeRequest, m...)
}
