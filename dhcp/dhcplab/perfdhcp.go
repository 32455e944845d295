package dhcplab

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Perfdhcp runs Kea's perfdhcp from n's eth0 (as a relay: its replies
// come to port 67) against server and returns its report; it skips the
// test when perfdhcp is not installed.
func Perfdhcp(t testing.TB, n *Node, server string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Skip("perfdhcp not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := n.Command(ctx, "perfdhcp", append(append([]string{"-4", "-l", "eth0"}, args...), server)...).CombinedOutput()
	if err != nil && ctx.Err() != nil {
		t.Fatalf("perfdhcp: %v\n%s", err, out)
	}
	return string(out)
}

var ackStats = regexp.MustCompile(`(?s)Statistics for: REQUEST-ACK\*+\s*sent packets: (\d+)\s*received packets: (\d+)`)

// ACKsOf reads the REQUEST-ACK counts of a perfdhcp report.
func ACKsOf(t testing.TB, report string) (sent, received int) {
	t.Helper()
	m := ackStats.FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no REQUEST-ACK statistics in perfdhcp output:\n%s", report)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received
}
