package dhcp

import (
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// FuzzHandle feeds raw bytes to the request handler, in full and proxy
// mode, on ports 67 and 4011. Invariants: no panic, and any reply is a
// well-formed BOOTREPLY that parses back with the request's xid.
func FuzzHandle(f *testing.F) {
	f.Add(request(f, mac(1), dhcpv4.MessageTypeDiscover), false, false)
	f.Add(request(f, mac(1), dhcpv4.MessageTypeDiscover, pxe(iana.INTEL_X86PC)...), true, false)
	f.Add(request(f, mac(2), dhcpv4.MessageTypeRequest, append(pxe(iana.EFI_X86_64), dhcpv4.WithGatewayIP(net.ParseIP("10.1.0.1")))...), false, true)
	f.Add(request(f, mac(3), dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("10.0.0.101")))), false, false)
	f.Add(request(f, mac(4), dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.ParseIP("10.0.0.9"))), false, false)
	f.Add(request(f, mac(5), dhcpv4.MessageTypeDecline, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("10.0.0.100")))), false, false)
	f.Add([]byte{1, 1, 6, 0}, false, false)
	full, _ := newHandler(f, nil)
	proxy, _ := newHandler(f, func(s *Server) { s.Mode = ModeProxy })
	f.Fuzz(func(t *testing.T, raw []byte, useProxy, on4011 bool) {
		s, port := full, 67
		if useProxy {
			s = proxy
		}
		if on4011 {
			port = pxePort
		}
		// handle, not safeHandle: the read loop's recover would hide the
		// panic this target exists to find.
		r, ok := s.handle(raw, clientSrc, port)
		if !ok || r.reply == nil {
			return
		}
		out := r.reply.ToBytes()
		back, err := dhcpv4.FromBytes(out)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		req, _ := dhcpv4.FromBytes(raw)
		if back.OpCode != dhcpv4.OpcodeBootReply || back.TransactionID != req.TransactionID || back.MessageType() == dhcpv4.MessageTypeNone || r.to == nil {
			t.Fatalf("malformed reply %v to %v", back, r.to)
		}
	})
}
