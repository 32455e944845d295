package bmc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// asfPing is an RMCP ASF Presence Ping (DMTF DSP0136): RMCP header
// (version 6, no ack, class ASF), the ASF IANA number 4542, type 0x80.
// Any IPMI-over-LAN BMC answers it without a session.
var asfPing = []byte{0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00}

// rmcpPing reports nil when the BMC at addr answers a presence ping
// within a second.
func rmcpPing(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("rmcp ping: %w", err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	if _, err := conn.Write(asfPing); err != nil {
		return fmt.Errorf("rmcp ping: %w", err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return fmt.Errorf("rmcp ping: %w", err)
	}
	if n < 9 || !bytes.Equal(buf[4:8], asfPing[4:8]) || buf[8] != 0x40 {
		return errors.New("rmcp ping: answer is not a presence pong")
	}
	return nil
}
