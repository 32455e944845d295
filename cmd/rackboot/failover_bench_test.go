package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestFailoverTimes is a measurement, not a test (RACKBOOT_BENCH=1 runs
// it): in the same lab and with the same clients, the time from SIGKILL of
// the server answering DHCP to the first ACK from the other one, for
// rackboot on etcd (default 5 s session TTL) and for Kea's HA hook in
// hot-standby with its default timers. Figures go to docs/benchmarks.md.
func TestFailoverTimes(t *testing.T) {
	if os.Getenv("RACKBOOT_BENCH") == "" {
		t.Skip("a measurement: RACKBOOT_BENCH=1 runs it")
	}
	t.Run("rackboot", func(t *testing.T) {
		f := newFailoverLab(t)
		f.apps["a"].start(t)
		first := f.leader("")
		f.apps["b"].start(t)
		other := f.apps["b"]
		if first.id == "b" {
			other = f.apps["a"]
		}
		d := measureFailover(t, newSwarm(t, f.clients), first.lanIP, other.lanIP, first.kill)
		t.Logf("rackboot on etcd: SIGKILL of the leader → first ACK from the other appliance: %v", d.Round(time.Millisecond))
	})
	t.Run("kea-ha", func(t *testing.T) {
		if _, err := exec.LookPath("kea-dhcp4"); err != nil {
			t.Skip("kea-dhcp4 not installed")
		}
		lab := newNetLab(t, labBridge)
		cl := lab.namespace("cl")
		lab.plug(cl, labBridge, "eth0")
		var keas []*exec.Cmd
		for i, name := range []string{"k1", "k2"} {
			ns := lab.namespace(name)
			lab.plug(ns, labBridge, "eth0", fmt.Sprintf("10.88.0.%d/16", 2+i))
			keas = append(keas, startKea(t, ns, name))
		}
		kill := func() { keas[0].Process.Kill(); keas[0].Wait() }
		d := measureFailover(t, newSwarm(t, cl), netip.MustParseAddr("10.88.0.2"), netip.MustParseAddr("10.88.0.3"), kill)
		t.Logf("Kea %s HA hot-standby, default timers: SIGKILL of the primary → first ACK from the standby: %v", keaVersion(), d.Round(time.Millisecond))
	})
}

// measureFailover keeps 20 clients getting addresses (each client a new
// MAC), kills the serving server once it has acknowledged 50, and returns
// the time from the kill to the first ACK from next.
func measureFailover(t *testing.T, s *swarm, serving, next netip.Addr, kill func()) time.Duration {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	var macs, acked atomic.Int32
	var killedAt, nextAt time.Time
	var once sync.Once
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, server, err := s.dora(ctx, clientMAC(int(macs.Add(1))))
				if err != nil {
					return
				}
				if acked.Add(1) == 50 {
					if server != serving {
						t.Errorf("%v answered first, not %v", server, serving)
					}
					once.Do(func() {
						kill()
						mu.Lock()
						killedAt = time.Now()
						mu.Unlock()
					})
				}
				mu.Lock()
				if !killedAt.IsZero() && server == next && nextAt.IsZero() {
					nextAt = time.Now()
					close(done)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the other server never answered")
	}
	cancel()
	wg.Wait()
	// The first ACK from next on the wire, which may precede the client's
	// own bookkeeping above.
	for _, r := range s.Replies() {
		if r.at.After(killedAt) && r.server == next && r.typ == dhcpv4.MessageTypeAck {
			return r.at.Sub(killedAt)
		}
	}
	return nextAt.Sub(killedAt)
}

func keaVersion() string {
	out, _ := exec.Command("kea-dhcp4", "-v").Output()
	return strings.TrimSpace(string(out))
}

// startKea runs kea-dhcp4 in ns as HA peer name (k1 primary, k2 standby),
// hot-standby, default HA timers; leases in a memfile.
func startKea(t *testing.T, ns, name string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	hooks := "/usr/lib/x86_64-linux-gnu/kea/hooks"
	conf := fmt.Sprintf(`{"Dhcp4": {
  "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": "%[1]s/leases.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64},
  "hooks-libraries": [
    {"library": "%[2]s/libdhcp_lease_cmds.so"},
    {"library": "%[2]s/libdhcp_ha.so", "parameters": {"high-availability": [{
      "this-server-name": "%[3]s", "mode": "hot-standby",
      "multi-threading": {"enable-multi-threading": true, "http-dedicated-listener": true, "http-listener-threads": 1, "http-client-threads": 1},
      "peers": [
        {"name": "k1", "url": "http://10.88.0.2:8001/", "role": "primary"},
        {"name": "k2", "url": "http://10.88.0.3:8001/", "role": "standby"}]}]}}],
  "subnet4": [{"id": 1, "subnet": "10.88.0.0/16", "pools": [{"pool": "10.88.1.1 - 10.88.2.250"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": "%[1]s/kea.log"}]}]
}}`, dir, hooks, name)
	path := filepath.Join(dir, "kea.json")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "kea-dhcp4", "-c", path)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir)
	out, _ := os.Create(filepath.Join(dir, "out.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "kea.log"))
			t.Logf("kea %s log:\n%s", name, b)
		}
	})
	return cmd
}
