package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/dhcp"
)

// swarm is many DHCP clients sharing one socket (port 68 on eth0 of a
// namespace), told apart by transaction id. Requests set the broadcast
// flag; a renewal is unicast back to its address, which the namespace
// holds. Every reply the socket receives is recorded.
type swarm struct {
	t       *testing.T
	conn    net.PacketConn
	mu      sync.Mutex
	waiters map[uint32]chan *dhcpv4.DHCPv4
	replies []reply
}

// reply is one server answer as received.
type reply struct {
	at     time.Time
	typ    dhcpv4.MessageType
	server netip.Addr // option 54
	ip     netip.Addr // yiaddr
	mac    string
}

func newSwarm(t *testing.T, ns string) *swarm {
	s := &swarm{t: t, waiters: map[uint32]chan *dhcpv4.DHCPv4{}}
	if err := inNS(ns, func() (err error) { s.conn, err = dhcp.Listen("eth0", 68); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	go s.read()
	return s
}

func (s *swarm) read() {
	buf := make([]byte, 2048)
	for {
		n, _, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		p, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || p.OpCode != dhcpv4.OpcodeBootReply {
			continue
		}
		sid, _ := netip.AddrFromSlice(p.ServerIdentifier().To4())
		yi, _ := netip.AddrFromSlice(p.YourIPAddr.To4())
		s.mu.Lock()
		s.replies = append(s.replies, reply{at: time.Now(), typ: p.MessageType(), server: sid, ip: yi, mac: p.ClientHWAddr.String()})
		ch := s.waiters[binaryXID(p.TransactionID)]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- p:
			default:
			}
		}
	}
}

func binaryXID(x dhcpv4.TransactionID) uint32 {
	return uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3])
}

// Replies returns a copy of every reply so far.
func (s *swarm) Replies() []reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]reply(nil), s.replies...)
}

// exchange sends p (broadcast) until a reply of one of the wanted types
// comes, up to tries times, a second apart. Each send carries the seconds
// since the client began (since), as a real client's "secs" does: Kea's
// HA counts clients left waiting by it.
func (s *swarm) exchange(ctx context.Context, since time.Time, p *dhcpv4.DHCPv4, tries int, want ...dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	ch := make(chan *dhcpv4.DHCPv4, 8)
	x := binaryXID(p.TransactionID)
	s.mu.Lock()
	s.waiters[x] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, x)
		s.mu.Unlock()
	}()
	to := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	for range tries {
		p.NumSeconds = uint16(min(time.Since(since)/time.Second, 65535))
		if _, err := s.conn.WriteTo(p.ToBytes(), to); err != nil {
			s.t.Logf("send: %v", err)
		}
		timer := time.NewTimer(time.Second + time.Duration(rand.IntN(200))*time.Millisecond)
	wait:
		for {
			select {
			case r := <-ch:
				for _, w := range want {
					if r.MessageType() == w {
						timer.Stop()
						return r
					}
				}
			case <-timer.C:
				break wait
			case <-ctx.Done():
				timer.Stop()
				return nil
			}
		}
	}
	return nil
}

func clientMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, byte(i >> 8), byte(i)}
}

func newXID() dhcpv4.TransactionID {
	var x dhcpv4.TransactionID
	v := rand.Uint32()
	x[0], x[1], x[2], x[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return x
}

func message(mac net.HardwareAddr, t dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	p, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(t), dhcpv4.WithBroadcast(true),
		dhcpv4.WithTransactionID(newXID()),
	}, mods...)...)
	if err != nil {
		panic(err)
	}
	return p
}

// dora gets an address for mac: DISCOVER, OFFER, REQUEST, ACK, starting
// over after a NAK or silence, until ctx ends. It returns the address and
// the server that acknowledged it.
func (s *swarm) dora(ctx context.Context, mac net.HardwareAddr) (ip, server netip.Addr, err error) {
	since := time.Now()
	for ctx.Err() == nil {
		offer := s.exchange(ctx, since, message(mac, dhcpv4.MessageTypeDiscover), 1<<20, dhcpv4.MessageTypeOffer)
		if offer == nil {
			break
		}
		req := message(mac, dhcpv4.MessageTypeRequest,
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)))
		ack := s.exchange(ctx, since, req, 3, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
		if ack != nil && ack.MessageType() == dhcpv4.MessageTypeAck {
			ip, _ = netip.AddrFromSlice(ack.YourIPAddr.To4())
			server, _ = netip.AddrFromSlice(ack.ServerIdentifier().To4())
			return ip, server, nil
		}
	}
	return ip, server, fmt.Errorf("dora %s: %w", mac, ctx.Err())
}

// rebind asks any server to extend mac's lease on ip (REQUEST with
// ciaddr, no server identifier: RFC 2131's REBINDING), until ctx ends.
func (s *swarm) rebind(ctx context.Context, mac net.HardwareAddr, ip netip.Addr) (netip.Addr, netip.Addr, error) {
	since := time.Now()
	for ctx.Err() == nil {
		req := message(mac, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(ip.AsSlice()))
		r := s.exchange(ctx, since, req, 1, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
		if r == nil {
			continue
		}
		got, _ := netip.AddrFromSlice(r.YourIPAddr.To4())
		server, _ := netip.AddrFromSlice(r.ServerIdentifier().To4())
		if r.MessageType() == dhcpv4.MessageTypeNak {
			return netip.Addr{}, server, fmt.Errorf("rebind %s on %v: NAK from %v", mac, ip, server)
		}
		return got, server, nil
	}
	return netip.Addr{}, netip.Addr{}, fmt.Errorf("rebind %s: %w", mac, ctx.Err())
}

// probe broadcasts a DISCOVER for mac every interval until ctx ends, not
// waiting for answers: the replies are recorded, showing who offers when.
func (s *swarm) probe(ctx context.Context, mac net.HardwareAddr, every time.Duration) {
	to := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.conn.WriteTo(message(mac, dhcpv4.MessageTypeDiscover).ToBytes(), to)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
