package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/inventory/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
)

// The DHCP failover test: a 3-member etcd cluster in a namespace of its
// own on a control network; two appliances, each in its namespace, on the
// control network (eth1) and on one lab network (eth0), both in full mode
// on the lab's subnet; DHCP clients in a fourth namespace on the lab.

const (
	labBridge, ctlBridge = "lab", "ctl"
	etcdHost             = "10.99.0.1"
	sessionTTL           = 5 * time.Second
)

// appliance is one `rackboot serve` process in its namespace.
type appliance struct {
	id, ns  string
	lanIP   netip.Addr
	args    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

func (a *appliance) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command("ip", "netns", "exec", a.ns, os.Args[0])
	a.cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN="+a.args)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.exited = make(chan struct{})
	go func() { a.cmd.Wait(); logf.Close(); close(a.exited) }()
	t.Cleanup(a.kill)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(a.log(), `"msg":"rackboot serving"`) {
		select {
		case <-a.exited:
			t.Fatalf("appliance %s exited: %s", a.id, a.log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance %s did not start: %s", a.id, a.log())
		}
	}
}

func (a *appliance) log() string {
	b, _ := os.ReadFile(a.logPath)
	return string(b)
}

// kill is kill -9.
func (a *appliance) kill() {
	if a.cmd != nil && a.cmd.Process != nil {
		a.cmd.Process.Kill()
		<-a.exited
	}
}

type failoverLab struct {
	t       *testing.T
	lab     *netLab
	etcd    *etcdtest.Cluster
	cli     *clientv3.Client
	clients string // the clients' namespace
	apps    map[string]*appliance
}

func newFailoverLab(t *testing.T) *failoverLab {
	lab := newNetLab(t, labBridge, ctlBridge)
	if !etcdtest.Available() {
		t.Fatal(etcdtest.ErrNoEtcd)
	}
	f := &failoverLab{t: t, lab: lab, apps: map[string]*appliance{}}
	ens := lab.namespace("etcd")
	lab.plug(ens, ctlBridge, "eth0", etcdHost+"/24")
	c, err := etcdtest.StartWith(t.Context(), etcdtest.Options{Dir: t.TempDir(), Host: etcdHost,
		Wrap: []string{"ip", "netns", "exec", ens}, Dial: dialIn(ens)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.etcd = c
	if f.cli, err = c.Client(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cli.Close() })
	f.clients = lab.namespace("cl")
	lab.plug(f.clients, labBridge, "eth0")
	key := filepath.Join(t.TempDir(), "seal.key")
	os.WriteFile(key, []byte(strings.Repeat("k", 32)), 0o600)
	for i, id := range []string{"a", "b"} {
		ns := lab.namespace(id)
		lan := netip.AddrFrom4([4]byte{10, 88, 0, byte(2 + i)})
		lab.plug(ns, labBridge, "eth0", lan.String()+"/16")
		lab.plug(ns, ctlBridge, "eth1", fmt.Sprintf("10.99.0.%d/24", 2+i))
		f.apps[id] = &appliance{id: id, ns: ns, lanIP: lan, logPath: filepath.Join(t.TempDir(), id+".log"),
			args: strings.Join([]string{"serve", "--data-dir", t.TempDir(), "--log-format", "json",
				"--interface", "eth0", "--dhcp-mode", "full", "--dhcp-range", "10.88.1.1-10.88.2.250",
				"--api-addr", ":8080", "--http-addr", ":8081", "--tftp-addr=",
				"--etcd-endpoints", strings.Join(c.Endpoints(), ","), "--seal-key-file", key,
				"--appliance-id", id, "--etcd-session-ttl", sessionTTL.String()}, " ")}
	}
	return f
}

// leader waits until some appliance leads the lab network and returns it.
func (f *failoverLab) leader(not string) *appliance {
	f.t.Helper()
	m := &cluster.Member{Client: f.cli}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, err := m.Appliances(f.t.Context())
		if err == nil {
			for _, s := range list {
				if len(s.Leads) == 1 && s.Leads[0] == "10.88.0.0/16" && s.ID != not {
					return f.apps[s.ID]
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatal("no appliance leads 10.88.0.0/16")
	return nil
}

// storedLeases is every lease in etcd, by address.
func (f *failoverLab) storedLeases() map[netip.Addr]inventory.Lease {
	resp, err := f.cli.Get(f.t.Context(), "/rackboot/leases/", clientv3.WithPrefix())
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[netip.Addr]inventory.Lease{}
	for _, kv := range resp.Kvs {
		var l inventory.Lease
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			f.t.Fatal(err)
		}
		out[l.IP] = l
	}
	return out
}

// cut drops every packet of ns's control interface (etcd's network).
func (f *failoverLab) cut(ns string) {
	f.t.Helper()
	rules := "table inet cut {\n chain in { type filter hook input priority 0; iifname \"eth1\" drop; }\n" +
		" chain out { type filter hook output priority 0; oifname \"eth1\" drop; }\n}\n"
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("nft in %s: %v: %s", ns, err, out)
	}
}

// addAddrs gives the clients' namespace the addresses its clients hold,
// so renewals unicast to them arrive.
func (f *failoverLab) addAddrs(ips []netip.Addr) {
	var b strings.Builder
	for _, ip := range ips {
		fmt.Fprintf(&b, "addr add %s/16 dev eth0\n", ip)
	}
	cmd := exec.Command("ip", "-n", f.clients, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("ip addr add: %v: %s", err, out)
	}
}

type bound struct {
	mac    net.HardwareAddr
	ip     netip.Addr
	server netip.Addr
}

// doraAll runs dora for clients [from, to) at once; onACK is called after
// each.
func doraAll(ctx context.Context, s *swarm, from, to int, onACK func()) ([]bound, error) {
	out := make([]bound, to-from)
	g, ctx := errgroup.WithContext(ctx)
	for i := from; i < to; i++ {
		g.Go(func() error {
			mac := clientMAC(i)
			ip, server, err := s.dora(ctx, mac)
			out[i-from] = bound{mac, ip, server}
			if err == nil && onACK != nil {
				onACK()
			}
			return err
		})
	}
	return out, g.Wait()
}

// TestDHCPFailoverOnEtcd: 200 clients, the leader killed with SIGKILL in
// the middle of them, renewals through the new leader, then the new leader
// cut off from etcd: every client gets one address, no address goes to
// two clients, only the leader of the moment answers, every ACK matches a
// lease in etcd, and a cut-off leader stops before the other starts.
func TestDHCPFailoverOnEtcd(t *testing.T) {
	f := newFailoverLab(t)
	f.apps["a"].start(t)
	first := f.leader("")
	f.apps["b"].start(t)
	other := f.apps["b"]
	if first.id == "b" {
		other = f.apps["a"]
	}
	s := newSwarm(t, f.clients)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// 100 clients, then 100 more with the leader killed after 20 of them.
	phase1, err := doraAll(ctx, s, 0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var killedAt time.Time
	var n int
	var mu sync.Mutex
	phase2, err := doraAll(ctx, s, 100, 200, func() {
		mu.Lock()
		n++
		kill := n == 20
		mu.Unlock()
		if kill {
			once.Do(func() { first.kill(); killedAt = time.Now() })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if killedAt.IsZero() {
		t.Fatal("the leader was never killed")
	}
	if l := f.leader(first.id); l != other {
		t.Fatalf("after the kill %s leads", l.id)
	}
	// Renewals (rebinding) of the first 100 through the new leader.
	var ips []netip.Addr
	for _, b := range phase1 {
		ips = append(ips, b.ip)
	}
	f.addAddrs(ips)
	for _, b := range phase1 {
		ip, server, err := s.rebind(ctx, b.mac, b.ip)
		if err != nil || ip != b.ip || server != other.lanIP {
			t.Fatalf("rebind %s on %v: got %v from %v, %v", b.mac, b.ip, ip, server, err)
		}
	}
	all := append(phase1, phase2...)
	checkReplies(t, s.Replies(), first.lanIP, other.lanIP, killedAt)
	checkLeases(t, all, f.storedLeases())
	logFailover(t, "kill -9", s.Replies(), other.lanIP, killedAt)

	// The old leader back as a follower; the new one cut off from etcd.
	// A prober offers the cut-off leader DISCOVERs every 50 ms, so its
	// replies show when it stopped.
	first.start(t)
	pctx, stopProbe := context.WithCancel(ctx)
	go s.probe(pctx, clientMAC(1000), 50*time.Millisecond)
	f.cut(other.ns)
	cutAt := time.Now()
	_, err = doraAll(ctx, s, 200, 220, nil)
	stopProbe()
	if err != nil {
		t.Fatal(err)
	}
	if l := f.leader(other.id); l != first {
		t.Fatalf("after the cut %s leads", l.id)
	}
	checkCutOff(t, s.Replies(), other.lanIP, first.lanIP, cutAt)
	logFailover(t, "etcd cut off", s.Replies(), first.lanIP, cutAt)
}

// checkReplies: before the kill only the first leader answered; no address
// was acknowledged to two clients; no client got two addresses.
func checkReplies(t *testing.T, rs []reply, leader, next netip.Addr, killed time.Time) {
	t.Helper()
	owner, addr := map[netip.Addr]string{}, map[string]netip.Addr{}
	for _, r := range rs {
		if r.at.Before(killed) && r.server != leader {
			t.Errorf("%v answered (%v) while %v led", r.server, r.typ, leader)
		}
		if r.server != leader && r.server != next {
			t.Errorf("a reply from %v", r.server)
		}
		if r.typ != dhcpv4.MessageTypeAck {
			continue
		}
		if m, ok := owner[r.ip]; ok && m != r.mac {
			t.Errorf("%v acknowledged to %s and to %s", r.ip, m, r.mac)
		}
		if a, ok := addr[r.mac]; ok && a != r.ip {
			t.Errorf("%s acknowledged %v and %v", r.mac, a, r.ip)
		}
		owner[r.ip], addr[r.mac] = r.mac, r.ip
	}
}

// checkLeases: every client's address is its lease in etcd.
func checkLeases(t *testing.T, all []bound, stored map[netip.Addr]inventory.Lease) {
	t.Helper()
	seen := map[netip.Addr]bool{}
	for _, b := range all {
		if seen[b.ip] {
			t.Errorf("%v held by two clients", b.ip)
		}
		seen[b.ip] = true
		if l, ok := stored[b.ip]; !ok || l.MAC != b.mac.String() {
			t.Errorf("%s holds %v; etcd has %+v", b.mac, b.ip, l)
		}
	}
	if len(seen) != len(all) {
		t.Errorf("%d clients, %d addresses", len(all), len(seen))
	}
}

// checkCutOff: the cut-off leader's last reply came before the new
// leader's first one after the cut.
func checkCutOff(t *testing.T, rs []reply, old, next netip.Addr, cut time.Time) {
	t.Helper()
	var lastOld, firstNext time.Time
	for _, r := range rs {
		if r.at.Before(cut) {
			continue
		}
		if r.server == old {
			lastOld = r.at
		}
		if r.server == next && firstNext.IsZero() {
			firstNext = r.at
		}
	}
	if firstNext.IsZero() {
		t.Fatal("the new leader never answered")
	}
	if lastOld.IsZero() {
		t.Fatal("the cut-off leader never answered the prober after the cut: the test shows nothing")
	}
	if !lastOld.Before(firstNext) {
		t.Fatalf("the cut-off leader answered at %v, after the new one began at %v", lastOld, firstNext)
	}
	t.Logf("cut-off leader's last reply %v after the cut, the new leader's first %v after (session TTL %v)",
		lastOld.Sub(cut).Round(time.Millisecond), firstNext.Sub(cut).Round(time.Millisecond), sessionTTL)
}

func logFailover(t *testing.T, what string, rs []reply, next netip.Addr, at time.Time) {
	for _, r := range rs {
		if r.at.After(at) && r.server == next && r.typ == dhcpv4.MessageTypeAck {
			t.Logf("%s: first ACK from the other appliance %v later", what, r.at.Sub(at).Round(time.Millisecond))
			return
		}
	}
}
