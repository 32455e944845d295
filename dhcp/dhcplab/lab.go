package dhcplab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Lab is a bridge in a network namespace of its own, and nodes (one
// namespace each) plugged into it through veth pairs.
type Lab struct {
	t     testing.TB
	id    string
	hub   string
	nodes map[string]*Node
}

// Node is one namespace on the lab bridge; its end of the veth is "eth0".
type Node struct {
	t  testing.TB
	ns string
}

var labSeq atomic.Int32

// New makes a lab, or skips the test unless it may create namespaces
// (root, not -short, ip(8) installed).
func New(t testing.TB) *Lab {
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
	l := &Lab{t: t, id: fmt.Sprintf("rb%d%d", os.Getpid()%100000, labSeq.Add(1)), nodes: map[string]*Node{}}
	l.hub = l.addNS("hub")
	l.ip("netns", "exec", l.hub, "ip", "link", "add", "br0", "type", "bridge")
	l.ip("netns", "exec", l.hub, "ip", "link", "set", "br0", "up")
	return l
}

func (l *Lab) addNS(name string) string {
	ns := l.id + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

func (l *Lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Node adds a namespace on the bridge with the given addresses (CIDR) on
// its eth0.
func (l *Lab) Node(name string, addrs ...string) *Node {
	l.t.Helper()
	if l.nodes[name] != nil {
		l.t.Fatalf("dhcplab: a second node named %q", name)
	}
	ns := l.addNS(name)
	peer := fmt.Sprintf("%sv%d", l.id, len(l.nodes)+1)
	l.ip("link", "add", peer, "netns", l.hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.ip("netns", "exec", l.hub, "ip", "link", "set", peer, "master", "br0", "up")
	l.ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	l.ip("netns", "exec", ns, "ip", "link", "set", "eth0", "up")
	for _, a := range addrs {
		l.ip("netns", "exec", ns, "ip", "addr", "add", a, "dev", "eth0")
	}
	n := &Node{t: l.t, ns: ns}
	l.nodes[name] = n
	return n
}

// Get returns the node Node made with that name, nil if none.
func (l *Lab) Get(name string) *Node { return l.nodes[name] }

// Command runs name inside the node's namespace. ip netns exec execs it:
// the process is name itself, so signalling it signals name.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns, name}, args...)...)
}

// IP runs ip(8) inside the namespace.
func (n *Node) IP(args ...string) {
	n.t.Helper()
	if out, err := n.Command(context.Background(), "ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s in %s: %v: %s", strings.Join(args, " "), n.ns, err, out)
	}
}

// Do runs fn on an OS thread switched into the namespace, so sockets fn
// opens live there (a socket keeps the namespace it was created in, and
// can be used from any thread afterwards).
func (n *Node) Do(fn func() error) error {
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

func (n *Node) inside(fn func() error) error {
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
