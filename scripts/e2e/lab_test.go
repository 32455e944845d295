package e2e

import (
	"context"
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
	lablib "github.com/rackboot/rackboot/lab"
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

// lab is a lab of package lab (the one `rackboot lab` runs) with the
// test's shorthands.
type lab struct {
	*lablib.Lab
	t       *testing.T
	net     string // the bridge's first three octets, e.g. "10.213.0"
	dir     string
	bin     string // static rackboot binary
	dataDir string
}

// cli runs a rackboot client command against the lab's appliance.
func (l *lab) cli(env []string, args ...string) (string, error) {
	return l.CLI(context.Background(), env, args...)
}

func (l *lab) host(mac string) (inventory.Host, error) {
	return l.Host(context.Background(), mac)
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
// installer ramdisk from them, as `rackboot lab up` does.
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
		k, err := lablib.FetchKernel(context.Background())
		if err != nil {
			built.err = err
			return
		}
		built.vmlinuz = k.Vmlinuz
		built.initrd = filepath.Join(dir, "installer.cpio.gz")
		built.err = lablib.BuildInstaller(k, built.bin, built.initrd)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.vmlinuz, built.initrd
}

// newLab creates a lab (package lab, as `rackboot lab up` does) with no
// VMs: a namespace, and `rackboot serve` in it with full DHCP on the
// bridge; everything is torn down when the test ends.
func newLab(t *testing.T, extra ...string) *lab {
	t.Helper()
	bin, vmlinuz, initrd := build(t)
	cfg := lablib.Config{Dir: t.TempDir(), Binary: bin, InstallerKernel: vmlinuz, InstallerInitrd: initrd, NoPowerOn: true,
		ServeArgs: append([]string{"--log-level", "debug", "--bmc-poll-interval", "1h"}, extra...)}
	L, err := lablib.Up(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := L.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return &lab{Lab: L, t: t, net: L.Net, dir: L.Dir, bin: bin, dataDir: L.DataDir}
}

// vm is one lab machine: a blank disk, a tap, and a virtual BMC in front
// of its QEMU. It is enrolled with its BMC; nothing is started yet.
type vm struct {
	mac, uuid, firmware, dir string
	console                  string // the serial console's socket (lablib.VM.ConsoleSocket)
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
	v, err := l.AddVM(context.Background(), lablib.VMSpec{Index: s.i, Firmware: s.firmware, MemoryMB: s.memMB, DiskBytes: s.diskBytes,
		Hostname: s.hostname, IP: s.ip, Labels: map[string]string{"lab": "e2e"}})
	if err != nil {
		l.t.Fatal(err)
	}
	return vm{mac: v.MAC, uuid: v.UUID, firmware: v.Firmware, dir: v.Dir, console: v.ConsoleSocket(), hostname: v.Hostname, ip: v.IP, memMB: v.MemoryMB, diskBytes: v.DiskBytes}
}

func (l *lab) power(mac, op string) {
	l.t.Helper()
	if out, err := l.cli(nil, "host", "power", mac, op); err != nil {
		l.t.Fatalf("host power %s %s: %v\n%s", mac, op, err, out)
	}
}
