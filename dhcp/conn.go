package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// maxPacket bounds what is read: a DHCP packet larger than an Ethernet
// frame is not one we answer.
const maxPacket = 1500

// readLoop answers the packets arriving on conn until it is closed.
func (s *Server) readLoop(ctx context.Context, conn net.PacketConn) error {
	port := 0
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		port = a.Port
	}
	buf := make([]byte, maxPacket+1)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dhcp read %v: %w", conn.LocalAddr(), err)
		}
		s.stats.received.Add(1)
		src, _ := from.(*net.UDPAddr)
		if n > maxPacket || src == nil {
			s.stats.malformed.Add(1)
			continue
		}
		s.answer(conn, buf[:n], src, port)
	}
}

// answer handles one packet: replies that carry no lease go out at once,
// the rest go to the committer, which sends them once the lease is durable.
func (s *Server) answer(conn net.PacketConn, raw []byte, src *net.UDPAddr, port int) {
	r, ok := s.safeHandle(raw, src, port)
	if !ok {
		return
	}
	if r.change == nil {
		s.send(conn, r)
		return
	}
	if !s.commits.enqueue(pending{change: r.change, send: func() { s.send(conn, r) }}) {
		s.stats.queueFull.Add(1) // the client retries; better than stalling every other one
	}
}

// safeHandle turns a panic in the handler into a dropped packet: one
// hostile packet must not take DHCP down for the whole segment.
func (s *Server) safeHandle(raw []byte, src *net.UDPAddr, port int) (r response, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.stats.malformed.Add(1)
			s.log.Error("dhcp handler panic; packet dropped", "panic", v, "from", src.String())
			r, ok = response{}, false
		}
	}()
	return s.handle(raw, src, port)
}

func (s *Server) send(conn net.PacketConn, r response) {
	if r.reply == nil {
		return
	}
	if _, err := conn.WriteTo(r.reply.ToBytes(), r.to); err != nil {
		s.stats.sendErrors.Add(1)
		s.log.Debug("dhcp send", "to", r.to.String(), "err", err)
		return
	}
	s.countSent(r.reply.MessageType())
}

func (s *Server) countSent(t dhcpv4.MessageType) {
	switch t {
	case dhcpv4.MessageTypeOffer:
		s.stats.offers.Add(1)
	case dhcpv4.MessageTypeAck:
		s.stats.acks.Add(1)
	case dhcpv4.MessageTypeNak:
		s.stats.naks.Add(1)
	}
}
