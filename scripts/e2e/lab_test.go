package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// repo is the repository root, found from this file's location.
func repo(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// needLab fails (or skips under -short) unless the machine can run the lab.
func needLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test: boots QEMU VMs")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the lab needs root (network namespaces, taps)")
	}
	for _, bin := range []string{"qemu-system-x86_64", "ip", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found (scripts/ci-deps installs the lab's packages)", bin)
		}
	}
}

// lab is one namespace with the appliance running in it.
type lab struct {
	t       *testing.T
	name    string
	net     string // first three octets, e.g. "10.213.7"
	dir     string
	bin     string // static rackboot binary
	dataDir string
	server  string
	serve   *exec.Cmd
	log     *os.File
	mu      sync.Mutex
	procs   []*exec.Cmd
}

func (l *lab) script(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(filepath.Join(repo(l.t), "scripts", "lab"), args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("scripts/lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs a long-lived process inside the namespace, logging to file.
func (l *lab) start(logName string, env []string, args ...string) *exec.Cmd {
	l.t.Helper()
	f, err := os.Create(filepath.Join(l.dir, logName))
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", "rb-" + l.name}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	return cmd
}

// cli runs a rackboot client command inside the namespace.
func (l *lab) cli(env []string, args ...string) (string, error) {
	args = append(args, "--server", l.server, "--data-dir", l.dataDir)
	cmd := exec.Command("ip", append([]string{"netns", "exec", "rb-" + l.name, l.bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *lab) host(mac string) (inventory.Host, error) {
	out, err := l.cli(nil, "host", "show", mac, "-o", "json")
	if err != nil {
		return inventory.Host{}, fmt.Errorf("%v: %s", err, out)
	}
	var v struct{ Host inventory.Host }
	err = json.Unmarshal([]byte(out), &v)
	return v.Host, err
}

// waitState polls the host until it reaches want or fails, for up to d.
func (l *lab) waitState(mac string, want inventory.State, d time.Duration, vmDir string) inventory.Host {
	l.t.Helper()
	deadline := time.Now().Add(d)
	var h inventory.Host
	var err error
	for time.Now().Before(deadline) {
		h, err = l.host(mac)
		if err == nil && (h.State == want || h.State == inventory.StateFailed) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if h.State != want {
		l.t.Errorf("%s: state %q (err %v), want %s after %v", mac, h.State, err, want, d)
		l.dump(vmDir)
		l.t.FailNow()
	}
	return h
}

// dump shows the end of the VM's console and of the appliance's log.
func (l *lab) dump(vmDir string) {
	for _, f := range []string{filepath.Join(vmDir, "console.log"), filepath.Join(l.dir, "serve.log")} {
		b, _ := os.ReadFile(f)
		lines := strings.Split(string(b), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		l.t.Logf("--- %s (end):\n%s", f, strings.Join(lines, "\n"))
	}
}

// built holds the binary and installer built once per test binary run.
var built struct {
	once                 sync.Once
	err                  error
	bin, vmlinuz, initrd string
}

// build makes the static rackboot, fetches Debian's kernel and builds the
// installer ramdisk from them.
func build(t *testing.T) (bin, vmlinuz, initrd string) {
	built.once.Do(func() {
		root := repo(t)
		dir, err := os.MkdirTemp("", "rackboot-e2e-build-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "rackboot")
		cmd := exec.Command("go", "build", "-trimpath", "-o", built.bin, "./cmd/rackboot")
		cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		out, err := exec.Command(filepath.Join(root, "scripts", "fetch-kernel")).Output()
		if err != nil {
			built.err = fmt.Errorf("scripts/fetch-kernel: %v", err)
			return
		}
		vars := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				vars[k] = v
			}
		}
		built.vmlinuz = vars["VMLINUZ"]
		built.initrd = filepath.Join(dir, "installer.cpio.gz")
		if out, err := exec.Command(built.bin, "image", "initramfs", "--kernel-modules", vars["MODULES"], "--binary", built.bin, "-o", built.initrd).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("image initramfs: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.vmlinuz, built.initrd
}

// newLab creates a namespace and starts `rackboot serve` in it with full
// DHCP on the bridge; everything is torn down when the test ends.
func newLab(t *testing.T, extra ...string) *lab {
	t.Helper()
	bin, vmlinuz, initrd := build(t)
	n := os.Getpid()%200 + 20
	l := &lab{t: t, name: fmt.Sprintf("e2e%d", os.Getpid()), net: fmt.Sprintf("10.213.%d", n), dir: t.TempDir(), bin: bin}
	l.dataDir = filepath.Join(l.dir, "data")
	l.server = "https://127.0.0.1:8080" // the CLI trusts the data dir's certificate
	l.script("down", l.name)
	l.script("up", l.name, l.net+".1/24")
	t.Cleanup(func() { l.script("down", l.name) })
	args := []string{bin, "serve", "--data-dir", l.dataDir, "--log-format", "json", "--log-level", "debug",
		"--api-addr", "127.0.0.1:8080", "--http-addr", l.net + ".1:8081", "--tftp-addr", l.net + ".1:69",
		"--interface", "br0", "--dhcp-mode", "full", "--dhcp-range", l.net + ".100-" + l.net + ".150",
		"--installer-kernel", vmlinuz, "--installer-initrd", initrd, "--bmc-min-gap", "200ms", "--bmc-poll-interval", "1h"}
	l.serve = l.start("serve.log", nil, append(args, extra...)...)
	for i := 0; i < 100; i++ {
		if out, err := l.cli(nil, "host", "list"); err == nil {
			return l
		} else if i == 99 {
			l.dump("")
			t.Fatalf("serve did not come up: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return l
}

// vm is one lab machine: a blank disk, a tap, and a virtual BMC in front
// of its QEMU. It is enrolled with its BMC; nothing is started yet.
type vm struct {
	mac, uuid, firmware, dir string
	hostname, ip             string // in the inventory; ip is its DHCP reservation
	memMB                    int
	diskBytes                int64
}

func (l *lab) addVM(i int, firmware string) vm {
	return l.addVMWith(vmSpec{i: i, firmware: firmware})
}

// vmSpec is a lab VM's shape; zero fields are the defaults (512 MiB,
// a 1 GiB disk, hostname vmN, a reservation of NET.(10+N)).
type vmSpec struct {
	i         int
	firmware  string
	memMB     int
	diskBytes int64
	hostname  string
	ip        string // a DHCP reservation
}

func (l *lab) addVMWith(s vmSpec) vm {
	l.t.Helper()
	v, bmc, env := l.newVM(s, "127.0.0.1")
	if out, err := l.cli(env, "host", "add", v.mac, "--bmc-address", "http://"+bmc, "--bmc-protocol", "redfish", "--bmc-username", "admin", "--label", "lab=e2e",
		"--hostname", v.hostname, "--ip", v.ip); err != nil {
		l.t.Fatalf("host add %s: %v\n%s", v.mac, err, out)
	}
	return v
}

// newVM makes a lab VM's disk and tap and starts its virtual BMC on
// bmcHost (port 9000+i), inside the lab's namespace; it returns the VM,
// the BMC's address and the environment that gives its password to
// `host add`. Nothing is enrolled yet.
func (l *lab) newVM(s vmSpec, bmcHost string) (vm, string, []string) {
	l.t.Helper()
	i, firmware := s.i, s.firmware
	v := vm{mac: fmt.Sprintf("52:54:00:e2:e0:%02x", i), uuid: fmt.Sprintf("a1b2c3d4-0000-4000-8000-0000000000%02x", i),
		firmware: firmware, dir: filepath.Join(l.dir, fmt.Sprintf("vm%d", i)), memMB: cmp.Or(s.memMB, 512), diskBytes: cmp.Or(s.diskBytes, 1<<30),
		hostname: cmp.Or(s.hostname, fmt.Sprintf("vm%d", i)), ip: cmp.Or(s.ip, fmt.Sprintf("%s.%d", l.net, 10+i))}
	os.MkdirAll(v.dir, 0o755)
	disk := filepath.Join(v.dir, "disk.raw")
	if err := os.Truncate(createEmpty(l.t, disk), v.diskBytes); err != nil {
		l.t.Fatal(err)
	}
	tap := fmt.Sprintf("tap%d", i)
	l.script("tap", l.name, tap)
	argv := strings.Fields(l.script("qemu-argv", firmware, v.mac, v.uuid, disk, tap, fmt.Sprint(v.memMB), v.dir))
	bmc := fmt.Sprintf("%s:%d", bmcHost, 9000+i)
	env := []string{"RACKBOOT_BMC_PASSWORD=lab-" + v.mac}
	l.start(fmt.Sprintf("bmc%d.log", i), env, append([]string{l.bin, "bmc", "virtual", "--listen", bmc,
		"--qmp-socket", filepath.Join(v.dir, "qmp.sock"), "--log-format", "json", "--"}, argv...)...)
	time.Sleep(300 * time.Millisecond)
	return v, bmc, env
}

func createEmpty(t *testing.T, path string) string {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func (l *lab) power(mac, op string) {
	l.t.Helper()
	if out, err := l.cli(nil, "host", "power", mac, op); err != nil {
		l.t.Fatalf("host power %s %s: %v\n%s", mac, op, err, out)
	}
}
