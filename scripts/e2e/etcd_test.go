package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/inventory/etcdtest"
	lablib "github.com/rackboot/rackboot/lab"
)

// The lab of several appliances: the lab namespace holds the bridge the
// VMs' taps are on, the 3-member etcd cluster (on the bridge's address)
// and the VMs' virtual BMCs; each appliance runs in a namespace of its
// own, plugged into the bridge by a veth pair, in full DHCP mode on the
// lab's subnet, sharing the inventory in etcd.

// haAppliance is one `rackboot serve` in its namespace.
type haAppliance struct {
	id, ns, ip, dataDir, logPath string
	args                         []string
	cmd                          *exec.Cmd
	exited                       chan struct{}
}

func (a *haAppliance) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command("ip", append([]string{"netns", "exec", a.ns}, a.args...)...)
	a.cmd.Stdout, a.cmd.Stderr = f, f
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.exited = make(chan struct{})
	go func() { a.cmd.Wait(); f.Close(); close(a.exited) }()
	t.Cleanup(a.kill)
	a.waitLog(t, `"msg":"rackboot serving"`, time.Minute)
}

// kill is kill -9; it returns once the process is gone.
func (a *haAppliance) kill() {
	if a.cmd != nil && a.cmd.Process != nil {
		a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *haAppliance) log() string {
	b, _ := os.ReadFile(a.logPath)
	return string(b)
}

// waitLog waits until the appliance's log holds every one of the parts
// on one line.
func (a *haAppliance) waitLog(t *testing.T, part string, d time.Duration, more ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, line := range strings.Split(a.log(), "\n") {
			if strings.Contains(line, part) && all(line, more) {
				return
			}
		}
		select {
		case <-a.exited:
			t.Fatalf("appliance %s exited: %s", a.id, a.log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance %s: no %q %q in its log after %v: %s", a.id, part, more, d, a.log())
		}
	}
}

func all(line string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(line, p) {
			return false
		}
	}
	return true
}

// cli runs a client command against this appliance's API, inside its
// namespace, trusting its certificate by its data dir.
func (a *haAppliance) cli(bin string, env []string, args ...string) (string, error) {
	args = append(args, "--server", "https://127.0.0.1:8080", "--data-dir", a.dataDir)
	cmd := exec.Command("ip", append([]string{"netns", "exec", a.ns, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (a *haAppliance) host(bin, mac string) (inventory.Host, error) {
	out, err := a.cli(bin, nil, "host", "show", mac, "-o", "json")
	if err != nil {
		return inventory.Host{}, fmt.Errorf("%v: %s", err, out)
	}
	var v struct{ Host inventory.Host }
	err = json.Unmarshal([]byte(out), &v)
	return v.Host, err
}

// TestNetbootThroughSurvivorOnEtcd: two appliances on one etcd inventory
// lead one lab network by election. The VM is enrolled through the
// leader, the leader is killed with SIGKILL, and the VM, powered on
// through the survivor, netboots (DHCP, iPXE, the installer) from the
// survivor alone to ready; the killed appliance, started again, shows the
// same record from its own API. Then an image imported through that one
// deploys the VM, which the other (the DHCP leader now) netboots.
func TestNetbootThroughSurvivorOnEtcd(t *testing.T) {
	needLab(t)
	if !etcdtest.Available() {
		t.Fatal(etcdtest.ErrNoEtcd)
	}
	bin, vmlinuz, initrd := build(t)
	// The lab's network alone: the appliances are a and b, below.
	L, err := lablib.Up(t.Context(), lablib.Config{Dir: t.TempDir(), Binary: bin, NoAppliance: true}, nil)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := L.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	l := &lab{Lab: L, t: t, net: L.Net, dir: L.Dir, bin: bin}
	labNS := L.Namespace

	etcd, err := etcdtest.StartWith(t.Context(), etcdtest.Options{Dir: t.TempDir(), Host: l.net + ".1",
		Wrap: []string{"ip", "netns", "exec", labNS}, Dial: etcdtest.DialIn(labNS)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)
	key := filepath.Join(l.dir, "seal.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("s", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	apps := map[string]*haAppliance{}
	for i, id := range []string{"a", "b"} {
		a := &haAppliance{id: id, ns: fmt.Sprintf("rbha%d%s", os.Getpid(), id), ip: fmt.Sprintf("%s.%d", l.net, 2+i),
			dataDir: filepath.Join(l.dir, "data-"+id), logPath: filepath.Join(l.dir, "serve-"+id+".log")}
		plugInto(t, labNS, a.ns, fmt.Sprintf("ha%dv%d", os.Getpid()%10000, i), a.ip+"/24")
		a.args = []string{bin, "serve", "--data-dir", a.dataDir, "--log-format", "json", "--log-level", "debug",
			"--api-addr", "127.0.0.1:8080", "--http-addr", a.ip + ":8081", "--tftp-addr", a.ip + ":69",
			"--interface", "eth0", "--dhcp-mode", "full", "--dhcp-range", l.net + ".100-" + l.net + ".150",
			"--installer-kernel", vmlinuz, "--installer-initrd", initrd, "--bmc-min-gap", "200ms", "--bmc-poll-interval", "1h",
			"--etcd-endpoints", strings.Join(etcd.Endpoints(), ","), "--seal-key-file", key,
			"--appliance-id", id, "--etcd-session-ttl", "5s"}
		apps[id] = a
	}
	a, b := apps["a"], apps["b"]
	// a starts first and leads; b stands by.
	a.start(t)
	a.waitLog(t, `"msg":"dhcp leader"`, time.Minute, `"appliance":"a"`)
	b.start(t)

	// Enrolled through the leader, with a BMC both appliances reach.
	lv, err := L.AddVM(t.Context(), lablib.VMSpec{Index: 1, Firmware: "bios", NoEnrol: true, BMCHost: l.net + ".1"})
	if err != nil {
		t.Fatal(err)
	}
	v := vm{mac: lv.MAC, uuid: lv.UUID, firmware: lv.Firmware, dir: lv.Dir, console: lv.ConsoleSocket(), hostname: lv.Hostname, ip: lv.IP,
		memMB: lv.MemoryMB, diskBytes: lv.DiskBytes}
	env := []string{"RACKBOOT_BMC_PASSWORD=" + lablib.BMCPassword(lv)}
	if out, err := a.cli(bin, env, "host", "add", v.mac, "--bmc-address", lv.BMC, "--bmc-protocol", "redfish",
		"--bmc-username", "admin", "--label", "lab=e2e", "--hostname", v.hostname, "--ip", v.ip); err != nil {
		t.Fatalf("host add on a: %v\n%s", err, out)
	}
	a.kill() // returns once a is gone: whatever the VM gets comes from b
	killed := time.Now()
	b.waitLog(t, `"msg":"dhcp leader"`, time.Minute, `"appliance":"b"`)
	t.Logf("b leads %v after a was killed", time.Since(killed).Round(100*time.Millisecond))

	if out, err := b.cli(bin, nil, "host", "power", v.mac, "on"); err != nil {
		t.Fatalf("host power on through b: %v\n%s", err, out)
	}
	start := time.Now()
	var h inventory.Host
	deadline := start.Add(10 * time.Minute)
	for {
		h, err = b.host(bin, v.mac)
		if err == nil && (h.State == inventory.StateReady || h.State == inventory.StateFailed) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if h.State != inventory.StateReady {
		l.dump(v.dir)
		t.Fatalf("%s through b: state %q (%v) after %v, want ready\n--- b's log:\n%s", v.mac, h.State, err,
			time.Since(start).Round(time.Second), tailLines(b.log(), 40))
	}
	t.Logf("%s ready through b %v after power-on", v.mac, time.Since(start).Round(time.Second))
	checkFacts(t, v, h)

	// a, started again, shows the record b wrote.
	a.start(t)
	sameOnBoth(t, bin, a, b, v.mac, inventory.StateReady)

	// An image imported through a is adopted by b (its blob fetched from
	// a by sha256), and a deploy asked through a is carried out by b: the
	// VM waits in b's installer, which streams the image from b.
	raw, _ := buildTestImage(t)
	if out, err := a.cli(bin, nil, "image", "import", raw, "--name", "testos"); err != nil {
		t.Fatalf("image import on a: %v\n%s", err, out)
	}
	eventuallyCLI(t, "the image on b", time.Minute, func() (string, bool) {
		out, err := b.cli(bin, nil, "image", "show", "testos")
		return out, err == nil
	})
	start = time.Now()
	if out, err := a.cli(bin, nil, "host", "deploy", v.mac, "--image", "testos"); err != nil {
		t.Fatalf("host deploy through a: %v\n%s", err, out)
	}
	deadline = start.Add(10 * time.Minute)
	for {
		h, err = b.host(bin, v.mac)
		if err == nil && (h.State == inventory.StateDeployed || h.State == inventory.StateActive || h.State == inventory.StateFailed) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if h.State != inventory.StateDeployed && h.State != inventory.StateActive {
		l.dump(v.dir)
		t.Fatalf("%s deploy through a: state %q (%v) on b after %v, want deployed\n--- b's log:\n%s", v.mac, h.State, err,
			time.Since(start).Round(time.Second), tailLines(b.log(), 40))
	}
	t.Logf("%s deployed %v after the deploy asked through a", v.mac, time.Since(start).Round(time.Second))
	if waitConsole(t, l, v, "rackboot-testimage: booted from disk "+v.firmware, 6*time.Minute) {
		t.Logf("%s booted from disk %v after the deploy was asked", v.mac, time.Since(start).Round(time.Second))
	}
	sameOnBoth(t, bin, a, b, v.mac, "")
	if out, err := b.cli(bin, nil, "host", "power", v.mac, "off"); err != nil {
		t.Errorf("host power off through b: %v\n%s", err, out)
	}
}

// sameOnBoth waits until both appliances' APIs show host mac at one
// version (in state want, when given): what one wrote, the other reads.
func sameOnBoth(t *testing.T, bin string, a, b *haAppliance, mac string, want inventory.State) {
	t.Helper()
	eventuallyCLI(t, mac+" alike on a and b", 10*time.Second, func() (string, bool) {
		ha, errA := a.host(bin, mac)
		hb, errB := b.host(bin, mac)
		ok := errA == nil && errB == nil && ha.Version == hb.Version && ha.State == hb.State &&
			(want == "" || ha.State == want) && ha.Facts != nil && hb.Facts != nil && ha.Facts.MemoryBytes == hb.Facts.MemoryBytes
		return fmt.Sprintf("a: %s v%d (%v); b: %s v%d (%v)", ha.State, ha.Version, errA, hb.State, hb.Version, errB), ok
	})
}

// eventuallyCLI retries check until it holds or d has passed.
func eventuallyCLI(t *testing.T, what string, d time.Duration, check func() (string, bool)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, ok := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// plugInto makes namespace ns and connects it to the lab's bridge with a
// veth pair whose end in ns is eth0 holding addr.
func plugInto(t *testing.T, labNS, ns, peer, addr string) {
	t.Helper()
	exec.Command("ip", "netns", "del", ns).Run() // an earlier run's
	t.Cleanup(func() {
		// The appliance in it is killed by its own cleanup, which runs
		// first (registered later).
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"link", "add", peer, "netns", labNS, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", labNS, "link", "set", peer, "master", "br0", "up"},
		{"-n", ns, "addr", "add", addr, "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// tailLines is the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
