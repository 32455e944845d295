package dhcp

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// lab is a bridge in a network namespace of its own, and nodes (one
// namespace each) plugged into it through veth pairs. Nothing is routed
// out: traffic never leaves the namespaces, which are deleted on cleanup.
type lab struct {
	t   testing.TB
	id  string
	hub string
	n   int
}

// node is one namespace on the lab bridge; its end of the veth is "eth0".
type node struct {
	t  testing.TB
	ns string
}

var labSeq atomic.Int32

// newLab skips unless it may create namespaces (root, not -short, ip(8)).
func newLab(t testing.TB) *lab {
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
	l := &lab{t: t, id: fmt.Sprintf("rb%d%d", os.Getpid()%100000, labSeq.Add(1))}
	l.hub = l.addNS("hub")
	l.ip("netns", "exec", l.hub, "ip", "link", "add", "br0", "type", "bridge")
	l.ip("netns", "exec", l.hub, "ip", "link", "set", "br0", "up")
	return l
}

func (l *lab) addNS(name string) string {
	ns := l.id + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// node adds a namespace on the bridge with the given addresses (CIDR) on
// its eth0.
func (l *lab) node(name string, addrs ...string) *node {
	l.t.Helper()
	ns := l.addNS(name)
	l.n++
	peer := fmt.Sprintf("%sv%d", l.id, l.n)
	l.ip("link", "add", peer, "netns", l.hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.ip("netns", "exec", l.hub, "ip", "link", "set", peer, "master", "br0", "up")
	l.ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	l.ip("netns", "exec", ns, "ip", "link", "set", "eth0", "up")
	for _, a := range addrs {
		l.ip("netns", "exec", ns, "ip", "addr", "add", a, "dev", "eth0")
	}
	return &node{t: l.t, ns: ns}
}

// command runs name inside the node's namespace.
func (n *node) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns, name}, args...)...)
}

// ip runs ip(8) inside the namespace.
func (n *node) ip(args ...string) {
	n.t.Helper()
	if out, err := n.command(context.Background(), "ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s in %s: %v: %s", strings.Join(args, " "), n.ns, err, out)
	}
}

// do runs fn on an OS thread switched into the namespace, so sockets fn
// opens live there (a socket keeps the namespace it was created in).
func (n *node) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: if switching back failed it must die
		// with the goroutine rather than serve others from the wrong
		// namespace. Go ends a locked thread when its goroutine returns.
		errc <- n.inside(fn)
	}()
	return <-errc
}

func (n *node) inside(fn func() error) error {
	target, err := os.Open("/var/run/netns/" + n.ns)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", n.ns, err)
	}
	return fn()
}

// listen opens a DHCP socket on the node's eth0.
func (n *node) listen(port int) net.PacketConn {
	n.t.Helper()
	var c net.PacketConn
	err := n.do(func() (err error) { c, err = Listen("eth0", port); return err })
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// prober is a Server.ProbeListen for the node.
func (n *node) prober() func() (net.PacketConn, error) {
	return func() (c net.PacketConn, err error) {
		err = n.do(func() error { c, err = Listen("eth0", clientPort); return err })
		return c, err
	}
}
