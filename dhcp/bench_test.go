package dhcp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// BenchmarkDORA is the packet path of one relayed DISCOVER and REQUEST,
// as perfdhcp sends them, from the request's bytes to the reply's (no
// sockets, no commit): one op is one DISCOVER and one REQUEST.
func BenchmarkDORA(b *testing.B) {
	first := netip.MustParseAddr("10.0.1.0")
	s, _ := newHandler(b, func(s *Server) {
		s.Subnets = []Subnet{{Prefix: netip.MustParsePrefix("10.0.0.0/16"), First: first,
			Last: netip.MustParseAddr("10.0.255.254"), Router: netip.MustParseAddr("10.0.0.1")}}
	})
	relay := dhcpv4.WithGatewayIP(net.ParseIP("10.0.0.10"))
	src := &net.UDPAddr{IP: net.ParseIP("10.0.0.10"), Port: serverPort}
	asked := dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
		dhcpv4.OptionDomainName, dhcpv4.OptionDomainNameServer)
	const clients = 50000
	discovers, requests := make([][]byte, clients), make([][]byte, clients)
	for i := range clients {
		ip := addr(u32(first) + uint32(i)).AsSlice() // what the pool scan offers client i
		discovers[i] = request(b, mac(i), dhcpv4.MessageTypeDiscover, relay, asked)
		requests[i] = request(b, mac(i), dhcpv4.MessageTypeRequest, relay, asked,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testServerIP.AsSlice())))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, ok := s.handle(discovers[i%clients], src, serverPort)
		if !ok || r.reply == nil {
			b.Fatal("no offer")
		}
		_ = r.reply.ToBytes()
		r, ok = s.handle(requests[i%clients], src, serverPort)
		if !ok || r.change == nil {
			b.Fatalf("no ack for client %d", i%clients)
		}
		_ = r.reply.ToBytes()
	}
}
