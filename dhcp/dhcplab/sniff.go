package dhcplab

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/sys/unix"
)

// serverPort is where a server's replies to a relay go: perfdhcp is one.
const serverPort = 67

// ACKSniffer records, from the wire, every DHCPACK reaching a node: the
// client's view of which MAC was given which address. A snapshot taken at
// a moment holds only ACKs that had reached the node by then.
type ACKSniffer struct {
	fd    int
	mu    sync.Mutex
	byMAC map[string]netip.Addr
	byIP  map[netip.Addr]string
	dups  []string
	done  chan struct{}
}

// SniffACKs starts recording the ACKs sent to the relay port (67) on n's
// eth0, until the test ends.
func SniffACKs(t testing.TB, n *Node) *ACKSniffer {
	t.Helper()
	s := &ACKSniffer{byMAC: map[string]netip.Addr{}, byIP: map[netip.Addr]string{}, done: make(chan struct{})}
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_IP))
		if s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, proto); err != nil {
			return err
		}
		unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
		unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200000})
		return unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go s.run(stop)
	t.Cleanup(func() { close(stop); <-s.done; unix.Close(s.fd) })
	return s
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *ACKSniffer) run(stop chan struct{}) {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err == nil {
			s.packet(buf[:n])
		}
	}
}

// packet parses IPv4/UDP to port 67 (replies to a relay).
func (s *ACKSniffer) packet(b []byte) {
	if len(b) < 20 || b[9] != unix.IPPROTO_UDP {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+8 || binary.BigEndian.Uint16(b[ihl+2:]) != serverPort {
		return
	}
	m, err := dhcpv4.FromBytes(b[ihl+8:])
	if err != nil || m.OpCode != dhcpv4.OpcodeBootReply || m.MessageType() != dhcpv4.MessageTypeAck {
		return
	}
	ip, _ := netip.AddrFromSlice(m.YourIPAddr.To4())
	mac := m.ClientHWAddr.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.byIP[ip]; ok && prev != mac {
		s.dups = append(s.dups, fmt.Sprintf("%v to %s and %s", ip, prev, mac))
	}
	s.byIP[ip], s.byMAC[mac] = mac, ip
}

// Snapshot returns the ACKs seen so far, by MAC (the latest address), and
// every address ACKed to two MACs.
func (s *ACKSniffer) Snapshot() (map[string]netip.Addr, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]netip.Addr, len(s.byMAC))
	for k, v := range s.byMAC {
		m[k] = v
	}
	return m, append([]string(nil), s.dups...)
}
