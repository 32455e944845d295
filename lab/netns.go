package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// names gives a lab directory its namespace and host-side veth: derived
// from the directory, so two labs in two directories never collide and
// Down finds them from the directory alone.
func names(absDir string) (namespace, veth string) {
	h := sha256.Sum256([]byte(absDir))
	id := hex.EncodeToString(h[:4])
	return "rb-lab-" + id, "rbl" + id + "h" // a link name is at most 15 bytes
}

// SocketDir is where a lab's unix sockets go: /run/rackboot-lab/NAMESPACE,
// 40 bytes, so that a socket's path fits AF_UNIX's 108 whatever the lab's
// directory (t.TempDir() under a long test name does not).
func SocketDir(namespace string) string { return filepath.Join("/run/rackboot-lab", namespace) }

// ip runs one iproute2 command.
func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// pickVethNet finds a 10.214.N.0/30 that no interface of this machine
// has an address in: the veth's two addresses.
func pickVethNet() (hostAddr, labAddr string, err error) {
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		return "", "", fmt.Errorf("ip addr: %w", err)
	}
	for n := 1; n < 255; n++ {
		if !strings.Contains(string(out), fmt.Sprintf(" 10.214.%d.", n)) {
			return fmt.Sprintf("10.214.%d.1", n), fmt.Sprintf("10.214.%d.2", n), nil
		}
	}
	return "", "", fmt.Errorf("no free 10.214.N.0/30 for the lab's veth")
}

// makeNetwork creates the namespace with its bridge (NET.1/24) and the
// veth pair to the host. The namespace does not forward (a new one never
// does): the VMs on the bridge reach the appliance and nothing else.
func makeNetwork(ctx context.Context, s *State) error {
	ns := s.Namespace
	steps := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "add", "br0", "type", "bridge"},
		{"-n", ns, "link", "set", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0"},
		{"-n", ns, "addr", "add", s.Net + ".1/24", "dev", "br0"},
		{"-n", ns, "link", "set", "br0", "up"},
		{"link", "add", s.Veth, "type", "veth", "peer", "name", "api0", "netns", ns},
		{"addr", "add", s.HostAddr + "/30", "dev", s.Veth},
		{"link", "set", s.Veth, "up"},
		{"-n", ns, "addr", "add", s.LabAddr + "/30", "dev", "api0"},
		{"-n", ns, "link", "set", "api0", "up"},
	}
	for _, st := range steps {
		if err := ip(ctx, st...); err != nil {
			return fmt.Errorf("lab network: %w", err)
		}
	}
	return nil
}

func addTap(ctx context.Context, ns, tap string) error {
	for _, st := range [][]string{
		{"-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"},
		{"-n", ns, "link", "set", tap, "master", "br0"},
		{"-n", ns, "link", "set", tap, "up"},
	} {
		if err := ip(ctx, st...); err != nil {
			return fmt.Errorf("tap %s: %w", tap, err)
		}
	}
	return nil
}

// nsPIDs lists the processes in the namespace.
func nsPIDs(ns string) []int {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var p int
		if _, err := fmt.Sscan(f, &p); err == nil && p != os.Getpid() {
			pids = append(pids, p)
		}
	}
	return pids
}

// removeNetwork stops every process in the namespace (TERM, then KILL
// after 5 s) and deletes it, which deletes the bridge, the taps and both
// ends of the veth. A missing namespace is not an error.
func removeNetwork(ns, veth string) error {
	if nsExists(ns) {
		signalAll(nsPIDs(ns), syscall.SIGTERM)
		for i := 0; i < 50 && len(nsPIDs(ns)) > 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		signalAll(nsPIDs(ns), syscall.SIGKILL)
		for i := 0; i < 50 && len(nsPIDs(ns)) > 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if err := ip(context.Background(), "netns", "del", ns); err != nil {
			return fmt.Errorf("lab down: %w", err)
		}
	}
	// Deleting the namespace deletes the veth pair, not always at once.
	if err := ip(context.Background(), "link", "del", veth); err != nil {
		if _, statErr := os.Stat("/sys/class/net/" + veth); statErr == nil {
			return err
		}
	}
	return nil
}

func signalAll(pids []int, sig syscall.Signal) {
	for _, p := range pids {
		syscall.Kill(p, sig)
	}
}

// lockNetworks holds a machine-wide lock while a lab picks its veth
// addresses and creates them; unlock may be called more than once.
func lockNetworks() (unlock func(), err error) {
	f, err := os.OpenFile("/run/rackboot-lab.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}
