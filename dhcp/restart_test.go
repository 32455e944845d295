package dhcp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/dhcp/dhcplab"
	"github.com/rackboot/rackboot/inventory"
)

// childEnv makes the test binary a rackboot DHCP server (see TestMain),
// so the restart test can SIGKILL a real process.
const childEnv = "RACKBOOT_DHCP_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild serves full mode on eth0 of the namespace it runs in, with the
// inventory in dir, and says "ready" on stdout once it answers.
func runChild(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := Listen("eth0", serverPort)
	if err != nil {
		return err
	}
	s := &Server{Mode: ModeFull, ServerIP: testServerIP, Inventory: db, Leases: db, Subnets: []Subnet{bigSubnet()},
		OnReady: func() { fmt.Println("ready") }}
	return s.Serve(ctx, conn)
}

// startChild starts the child server in n and waits for it to be ready.
func startChild(t *testing.T, n *node, dir string) *exec.Cmd {
	t.Helper()
	cmd := n.Command(context.Background(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child server: %q, %v", line, err)
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGKILL) // ip netns exec execs the child: this is the server itself
	cmd.Wait()
}

// storedLeases opens the (unlocked) inventory and returns its leases by MAC.
func storedLeases(t *testing.T, dir string) map[string]netip.Addr {
	t.Helper()
	db, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leases, err := db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]netip.Addr{}
	for _, l := range leases {
		if prev, ok := out[l.MAC]; ok {
			t.Errorf("%s stored with %v and %v", l.MAC, prev, l.IP)
		}
		out[l.MAC] = l.IP
	}
	return out
}

func checkAcked(t *testing.T, acked, stored map[string]netip.Addr) {
	t.Helper()
	lost := 0
	for mac, ip := range acked {
		if stored[mac] != ip {
			lost++
			if lost < 5 {
				t.Errorf("ACKed %v to %s, stored %v", ip, mac, stored[mac])
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged leases not durable", lost, len(acked))
	}
}

func TestRestartKeepsAcknowledgedLeases(t *testing.T) {
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Skip("perfdhcp not installed")
	}
	l := newLab(t)
	srv, perf := l.Node("srv", "10.0.0.2/16"), l.Node("perf", "10.0.0.10/16")
	dir := t.TempDir()
	sniff := dhcplab.SniffACKs(t, perf)

	child := startChild(t, srv, dir)
	out := perfdhcp(t, perf, "-r", "2000", "-R", "1000000", "-n", "5000", "-d", "2", "-W", "1000000")
	sent, got := acksOf(t, out)
	t.Logf("first round: %d of %d REQUESTs ACKed", got, sent)
	time.Sleep(300 * time.Millisecond) // let the last ACKs reach the sniffer
	kill(t, child)
	first, _ := sniff.Snapshot()
	// perfdhcp shares two cores with the server; under load it misses some
	// replies. What matters here is what was acknowledged on the wire.
	if len(first) < 4000 {
		t.Fatalf("only %d clients acknowledged of 5000", len(first))
	}
	checkAcked(t, first, storedLeases(t, dir))

	child = startChild(t, srv, dir)
	// Another MAC base: 5,000 other clients, who must not get the first ones' addresses.
	out = perfdhcp(t, perf, "-b", "mac=00:0d:01:02:03:04", "-r", "2000", "-R", "1000000", "-n", "5000", "-d", "2", "-W", "1000000")
	sent, got = acksOf(t, out)
	t.Logf("second round: %d of %d REQUESTs ACKed", got, sent)
	time.Sleep(300 * time.Millisecond)
	// Clients of the first round come back (as through the relay perfdhcp
	// was) and get their addresses again.
	relay := newTestClient(t, perf, serverPort)
	server := &net.UDPAddr{IP: testServerIP.AsSlice(), Port: serverPort}
	checked := 0
	for macStr, ip := range first {
		if checked++; checked > 50 {
			break
		}
		hw, _ := net.ParseMAC(macStr)
		offer := relay.one(newPacket(t, hw, dhcpv4.MessageTypeDiscover, dhcpv4.WithGatewayIP(net.ParseIP("10.0.0.10"))), server, dhcpv4.MessageTypeOffer)
		if ipOf(offer.YourIPAddr) != ip {
			t.Errorf("%s had %v before the restart, offered %v after", macStr, ip, offer.YourIPAddr)
		}
	}
	kill(t, child)
	all, dups := sniff.Snapshot()
	for _, d := range dups {
		t.Errorf("address acknowledged twice: %s", d)
	}
	stored := storedLeases(t, dir)
	checkAcked(t, first, stored)
	checkAcked(t, all, stored)
	t.Logf("%d clients acknowledged before the kill, %d in all; %d leases stored", len(first), len(all), len(stored))
}
