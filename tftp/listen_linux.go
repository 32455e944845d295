package tftp

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketOptions runs before bind. It turns on packet info at once, so even a
// request queued before pin/tftp sets it up arrives with its interface:
// without it pin/tftp caps that transfer at 512-byte blocks whatever
// BlockSize says. It also binds to iface when one is named (SO_BINDTODEVICE,
// which needs CAP_NET_RAW).
func socketOptions(iface string) func(network, address string, c syscall.RawConn) error {
	return func(network, _ string, c syscall.RawConn) error {
		var sockErr error
		err := c.Control(func(fd uintptr) {
			sockErr = setPacketInfo(int(fd), network)
			if sockErr == nil && iface != "" {
				sockErr = unix.BindToDevice(int(fd), iface)
			}
		})
		if err != nil {
			return err
		}
		if sockErr != nil {
			return fmt.Errorf("socket options (interface %q): %w", iface, sockErr)
		}
		return nil
	}
}

func setPacketInfo(fd int, network string) error {
	if network == "udp6" {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
}
