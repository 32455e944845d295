package dhcp

import (
	"net"
	"testing"

	"github.com/rackboot/rackboot/dhcp/dhcplab"
)

// The namespaces, the ACK sniffer and the perfdhcp runner of these tests
// are dhcplab's; what follows needs this package (Listen).

type (
	lab  = dhcplab.Lab
	node = dhcplab.Node
)

var newLab = dhcplab.New

// listenOn opens a DHCP socket on n's eth0.
func listenOn(t testing.TB, n *node, port int) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	err := n.Do(func() (err error) { c, err = Listen("eth0", port); return err })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// prober is a Server.ProbeListen for n.
func prober(n *node) func() (net.PacketConn, error) {
	return func() (c net.PacketConn, err error) {
		err = n.Do(func() error { c, err = Listen("eth0", clientPort); return err })
		return c, err
	}
}

// perfdhcp runs perfdhcp from n against the server at 10.0.0.2.
func perfdhcp(t *testing.T, n *node, args ...string) string {
	t.Helper()
	return dhcplab.Perfdhcp(t, n, "10.0.0.2", args...)
}

var acksOf = dhcplab.ACKsOf
