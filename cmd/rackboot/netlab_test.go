package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rackboot/rackboot/inventory/etcdtest"
)

// netLab is a hub namespace holding bridges, and namespaces plugged into
// them through veth pairs. Nothing is routed out; every namespace is
// deleted on cleanup. (The same recipe as package dhcp's test lab, with
// more than one bridge: a lab network and a control network for etcd.)
type netLab struct {
	t   *testing.T
	id  string
	hub string
	n   int
}

var netLabSeq atomic.Int32

// newNetLab skips unless it may create namespaces (root, not -short,
// ip(8)); bridges are made up on first use.
func newNetLab(t *testing.T, bridges ...string) *netLab {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip(8) not installed")
	}
	l := &netLab{t: t, id: fmt.Sprintf("rf%d%d", os.Getpid()%100000, netLabSeq.Add(1))}
	l.hub = l.namespace("hub")
	for _, br := range bridges {
		l.run("ip", "-n", l.hub, "link", "add", br, "type", "bridge")
		l.run("ip", "-n", l.hub, "link", "set", br, "up")
	}
	return l
}

// namespace adds an empty namespace with its loopback up.
func (l *netLab) namespace(name string) string {
	ns := l.id + name
	l.run("ip", "netns", "add", ns)
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	l.run("ip", "-n", ns, "link", "set", "lo", "up")
	return ns
}

// plug connects ns to bridge with an interface named ifname holding addrs.
func (l *netLab) plug(ns, bridge, ifname string, addrs ...string) {
	l.t.Helper()
	l.n++
	peer := fmt.Sprintf("%sv%d", l.id, l.n)
	l.run("ip", "link", "add", peer, "netns", l.hub, "type", "veth", "peer", "name", ifname, "netns", ns)
	l.run("ip", "-n", l.hub, "link", "set", peer, "master", bridge, "up")
	l.run("ip", "-n", ns, "link", "set", ifname, "up")
	for _, a := range addrs {
		l.run("ip", "-n", ns, "addr", "add", a, "dev", ifname)
	}
}

func (l *netLab) run(name string, args ...string) {
	l.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// inNS runs fn with its sockets in namespace ns (etcdtest.InNamespace).
func inNS(ns string, fn func() error) error { return etcdtest.InNamespace(ns, fn) }

// dialIn dials TCP from inside ns, for clients of what runs there.
func dialIn(ns string) func(ctx context.Context, addr string) (net.Conn, error) {
	return etcdtest.DialIn(ns)
}
