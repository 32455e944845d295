package dhcp

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listen opens a UDP socket on 0.0.0.0:port bound to the interface with
// SO_BINDTODEVICE. The wildcard address matters: a socket bound to the
// interface's unicast address never sees broadcast DISCOVERs. SO_REUSEADDR
// lets the probe socket share port 68 with a DHCP client on the machine.
func Listen(iface string, port int) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = bindToDevice(int(fd), iface) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, fmt.Errorf("dhcp listen %s port %d: %w", iface, port, err)
	}
	return conn, nil
}

const recvBuffer = 8 << 20

func bindToDevice(fd int, iface string) error {
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface); err != nil {
		return fmt.Errorf("SO_BINDTODEVICE %s: %w", iface, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return fmt.Errorf("SO_BROADCAST: %w", err)
	}
	// A boot storm arrives in bursts; the default buffer (about 200 KB)
	// holds only a hundred or so packets. FORCE passes rmem_max when we
	// may (CAP_NET_ADMIN); otherwise take what the kernel allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, recvBuffer) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, recvBuffer)
	}
	return nil
}
