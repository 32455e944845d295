package dhcp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// serveIn runs s in-process on n's eth0 (port 67, and 4011 in proxy
// mode) until the test ends.
func serveIn(t *testing.T, n *node, s *Server) {
	t.Helper()
	conns := []net.PacketConn{listenOn(t, n, serverPort)}
	if s.Mode == ModeProxy {
		conns = append(conns, listenOn(t, n, pxePort))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	s.OnReady = func() { close(ready) }
	go func() { done <- s.Serve(ctx, conns...) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// labServer is a full-mode server at 10.0.0.2 on a new lab, with its
// inventory.
func labServer(t *testing.T, set func(*Server)) (*lab, *Server, *inventory.DB) {
	l := newLab(t)
	srv := l.Node("srv", "10.0.0.2/24")
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bc := boot.Config{URL: "http://10.0.0.2:8081"}
	s := &Server{Mode: ModeFull, ServerIP: testServerIP, Inventory: db, Leases: db, Logger: testLogger(t),
		Subnets: []Subnet{testLocal, testRelayed}, Boot: bc, Enlister: provision.New(provision.Config{Store: db, Boot: bc}),
		ProbeListen: prober(srv), ProbeWait: 300 * time.Millisecond}
	if set != nil {
		set(s)
	}
	serveIn(t, srv, s)
	return l, s, db
}

// waitEnv polls path, where a DHCP client's hook script appends its
// environment, and returns the variables of the first "bound" call.
func waitEnv(t *testing.T, path string, timeout time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			env := map[string]string{}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = strings.Trim(v, "'")
				}
			}
			return env
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("client got no lease within %v", timeout)
	return nil
}

func hook(t *testing.T, dir, cond string) (script, out string) {
	out = filepath.Join(dir, "env")
	script = filepath.Join(dir, "hook")
	body := "#!/bin/sh\n" + cond + " && env > " + out + ".tmp && mv " + out + ".tmp " + out + "\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, out
}

func startClient(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Skipf("client: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

func TestDhclientLease(t *testing.T) {
	if _, err := exec.LookPath("dhclient"); err != nil {
		t.Skip("dhclient not installed")
	}
	l, _, db := labServer(t, nil)
	cl := l.Node("cl")
	hw := clientMAC(t, cl)
	if _, err := db.CreateHost(context.Background(), inventory.Host{MAC: hw, Hostname: "web-1", IP: "10.0.0.42"}, "test"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script, out := hook(t, dir, `[ "$reason" = BOUND ]`)
	conf := filepath.Join(dir, "dhclient.conf")
	os.WriteFile(conf, []byte("request subnet-mask, routers, domain-name, domain-name-servers, host-name, dhcp-lease-time;\n"), 0o644)
	startClient(t, cl.Command(context.Background(), "dhclient", "-d", "-1", "-cf", conf, "-sf", script,
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), "eth0"))
	env := waitEnv(t, out, 20*time.Second)
	want := map[string]string{"new_ip_address": "10.0.0.42", "new_subnet_mask": "255.255.255.0", "new_routers": "10.0.0.1",
		"new_domain_name_servers": "10.0.0.53", "new_domain_name": "lab.example", "new_host_name": "web-1",
		"new_dhcp_lease_time": "3600", "new_dhcp_server_identifier": "10.0.0.2"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("dhclient %s = %q, want %q", k, env[k], v)
		}
	}
}

func TestUdhcpcLease(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("busybox not installed")
	}
	l, s, db := labServer(t, nil)
	cl := l.Node("cl")
	hw := clientMAC(t, cl)
	if _, err := db.CreateHost(context.Background(), inventory.Host{MAC: hw, Hostname: "db-1"}, "test"); err != nil {
		t.Fatal(err)
	}
	script, out := hook(t, t.TempDir(), `[ "$1" = bound ]`)
	startClient(t, cl.Command(context.Background(), "busybox", "udhcpc", "-f", "-q", "-n", "-t", "10", "-T", "1",
		"-i", "eth0", "-s", script, "-O", "hostname", "-O", "domain"))
	env := waitEnv(t, out, 20*time.Second)
	if ip := env["ip"]; !strings.HasPrefix(ip, "10.0.0.10") {
		t.Errorf("udhcpc ip %q, want one of the pool", ip)
	}
	want := map[string]string{"subnet": "255.255.255.0", "router": "10.0.0.1", "dns": "10.0.0.53",
		"domain": "lab.example", "hostname": "db-1", "lease": "3600", "serverid": "10.0.0.2", "mask": "24"}
	for k, v := range want {
		if strings.TrimSpace(env[k]) != v {
			t.Errorf("udhcpc %s = %q, want %q", k, env[k], v)
		}
	}
	waitFor(t, func() bool { return s.Stats().LeasesCommitted > 0 })
	leases, err := db.Leases()
	if err != nil || len(leases) != 1 || leases[0].MAC != hw || leases[0].IP.String() != env["ip"] {
		t.Errorf("stored leases %+v (%v), want the one udhcpc got", leases, err)
	}
}

// clientMAC is the MAC of the node's eth0.
func clientMAC(t *testing.T, n *node) string {
	t.Helper()
	out, err := n.Command(context.Background(), "cat", "/sys/class/net/eth0/address").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal(errors.New("condition not met within 10s"))
}
