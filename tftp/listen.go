package tftp

import (
	"context"
	"fmt"
	"net"
)

// Listen opens the UDP socket for Serve. Prefer it to a plain socket: it turns
// on packet info from the start, without which pin/tftp serves 512-byte
// blocks. With iface set, the socket is bound to that interface
// (SO_BINDTODEVICE, Linux only), so a wildcard address such as ":69" hears
// only the provisioning network: binding to the interface's own address
// instead would miss broadcasts. IPv4 unless addr names an IPv6 host, since
// PXE ROMs speak IPv4.
func Listen(ctx context.Context, iface, addr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: socketOptions(iface)}
	conn, err := lc.ListenPacket(ctx, udpNetwork(addr), addr)
	if err != nil {
		return nil, fmt.Errorf("tftp: listen: %w", err)
	}
	return conn, nil
}

// udpNetwork picks "udp4" for empty and IPv4 hosts: Go would otherwise open a
// dual-stack socket for a wildcard address, and pin/tftp would then handle
// IPv4 clients through its IPv6 path with a smaller MTU estimate.
func udpNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "udp4"
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "udp6"
	}
	return "udp4"
}
