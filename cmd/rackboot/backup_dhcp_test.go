package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rackboot/rackboot/dhcp/dhcplab"
	"github.com/rackboot/rackboot/inventory"
)

// TestBackupWhileDHCPClientsLease backs up a serving rackboot while real
// DHCP clients (perfdhcp, thousands of them, relayed) get leases from it
// and hosts are added through its API, both without pause: `rackboot
// serve` in full mode and `rackboot backup` run as processes in a network
// namespace, the clients in another, and a sniffer on the clients' side
// records every DHCPACK from the wire. The ACKs it had seen when the
// backup command started were completed before the backup request began.
// The backup is restored (`rackboot restore`) into a new data dir, whose
// database must check clean (bbolt's check, the schema, the key opening
// the sealed BMC passwords) and hold every one of those leases, and every
// host whose add was answered before the backup began, its password
// opened with the key that travelled in the backup.
func TestBackupWhileDHCPClientsLease(t *testing.T) {
	l := dhcplab.New(t) // skips with -short, or without root
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Fatalf("needs perfdhcp (scripts/ci-deps installs it): %v", err)
	}
	srv, perf := l.Node("srv", "10.0.0.2/16"), l.Node("perf", "10.0.0.10/16")
	sniff := dhcplab.SniffACKs(t, perf)

	dir := t.TempDir()
	sv, stopServe := serveInNode(t, srv, dir, "--interface", "eth0", "--dhcp-mode", "full",
		"--dhcp-range", "10.0.1.0-10.0.255.254", "--dhcp-lease-time", "24h")

	// The clients: new MACs at a steady rate until stopped.
	ctx, stopClients := context.WithCancel(context.Background())
	defer stopClients()
	clients := perf.Command(ctx, "perfdhcp", "-4", "-l", "eth0", "-r", "200", "-R", "1000000", "-p", "120", "-W", "1000000", "10.0.0.2")
	var clientOut syncBuffer
	clients.Stdout, clients.Stderr = &clientOut, &clientOut
	if err := clients.Start(); err != nil {
		t.Fatal(err)
	}
	clientsDone := make(chan struct{})
	go func() { clients.Wait(); close(clientsDone) }()

	hosts := addHostsWithoutPause(t, srv, sv.APIURL, dir)

	// Let both get going, then take what was acknowledged so far.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		acks, _ := sniff.Snapshot()
		if len(acks) >= 300 && len(hosts.acked()) >= 20 {
			break
		}
		select {
		case <-clientsDone:
			t.Fatalf("perfdhcp ended early:\n%s", clientOut.String())
		default:
		}
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("after 2 minutes: %d ACKs, %d hosts added; perfdhcp:\n%s", len(acks), len(hosts.acked()), clientOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ackedBefore, _ := sniff.Snapshot()
	hostsBefore := hosts.acked()
	file := filepath.Join(t.TempDir(), "rackboot.backup")
	backup := srv.Command(context.Background(), os.Args[0])
	backup.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN="+strings.Join([]string{"backup", file, "--server", sv.APIURL, "--data-dir", dir}, " "))
	b, err := backup.CombinedOutput()
	out := string(b)
	ackedAfter, _ := sniff.Snapshot()
	hostsAfter := hosts.stop()
	stopClients()
	<-clientsDone
	if err != nil || !strings.Contains(out, "keep it secret") {
		t.Fatalf("rackboot backup: %v\n%s", err, out)
	}
	if code := stopServe(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	_, dups := sniff.Snapshot()
	for _, d := range dups {
		t.Errorf("address acknowledged twice: %s", d)
	}
	t.Logf("before the backup began: %d leases ACKed, %d hosts added; by its end %d and %d; %s",
		len(ackedBefore), len(hostsBefore), len(ackedAfter), len(hostsAfter), strings.TrimSpace(out))

	fresh := filepath.Join(t.TempDir(), "new-machine")
	if out, code := cli(t, "restore", file, "--data-dir", fresh); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	checkRestored(t, fresh, ackedBefore, hostsBefore)
}

// checkRestored checks the restored data dir: a clean database, every
// lease ACKed and every host added before the backup began.
func checkRestored(t *testing.T, dir string, acked map[string]netip.Addr, hosts []string) {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dir, inventory.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := inventory.CheckFile(filepath.Join(dir, inventory.DatabaseFile), key); err != nil {
		t.Fatalf("the restored database does not check clean: %v", err)
	}
	db, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]netip.Addr{}
	for _, l := range stored {
		have[l.MAC] = l.IP
	}
	lost := 0
	for mac, ip := range acked {
		if have[mac] != ip {
			if lost++; lost <= 5 {
				t.Errorf("lease %v ACKed to %s before the backup began: restored %v", ip, mac, have[mac])
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of the %d leases ACKed before the backup began are not in the restore (%d leases there)", lost, len(acked), len(stored))
	}
	for i, mac := range hosts {
		if pw, err := db.BMCPassword(context.Background(), mac); err != nil || pw != fmt.Sprint("pw-", i) {
			t.Fatalf("host %s, added before the backup began: BMC password %q, %v", mac, pw, err)
		}
	}
	t.Logf("restored: %d leases (all %d ACKed before the backup began), all %d hosts added before it; the database checks clean",
		len(stored), len(acked), len(hosts))
}

// serveInNode runs `rackboot serve` (this test binary, see TestMain) in
// n's namespace with its listeners on the namespace's loopback, and
// returns what it serves and a function that stops it with SIGTERM and
// returns its exit code.
func serveInNode(t *testing.T, n *dhcplab.Node, dir string, extra ...string) (serving, func() int) {
	t.Helper()
	args := append(append([]string{"serve", "--data-dir", dir}, loopbackAddrs...), extra...)
	cmd := n.Command(context.Background(), os.Args[0])
	cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN="+strings.Join(args, " "))
	var logs syncBuffer
	cmd.Stdout = &logs
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	found := make(chan serving, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var l struct {
				Msg string
				serving
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rackboot serving" {
				found <- l.serving
			}
		}
		cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	stop := func() int {
		cmd.Process.Signal(syscall.SIGTERM) // ip netns exec execs: this is serve itself
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGTERM: %s", logs.String())
			return <-done
		}
	}
	select {
	case sv := <-found:
		t.Cleanup(func() { cmd.Process.Kill() })
		return sv, stop
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, logs.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("serve did not start: %s", logs.String())
	}
	return serving{}, nil
}

// addHostsWithoutPause starts adding hosts to the serve at url, reached
// from inside n's namespace (its API listens on that loopback).
func addHostsWithoutPause(t *testing.T, n *dhcplab.Node, url, dir string) *hostAdder {
	t.Helper()
	hc := testClient(t, url, dir).http
	tr := hc.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = n.Do(func() error { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
		return c, err
	}
	return startAddingHosts(t, &http.Client{Timeout: hc.Timeout, Transport: tr}, url, readToken(t, dir))
}
