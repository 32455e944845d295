//go:build !linux

package tftp

import (
	"errors"
	"syscall"
)

// socketOptions can only refuse an interface binding off Linux.
func socketOptions(iface string) func(network, address string, c syscall.RawConn) error {
	if iface == "" {
		return nil
	}
	return func(_, _ string, _ syscall.RawConn) error {
		return errors.New("bind to interface " + iface + ": only supported on Linux")
	}
}
