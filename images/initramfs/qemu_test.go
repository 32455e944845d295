package initramfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The lab network inside the test's own namespace; nothing leaves it.
const (
	labBridgeCIDR = "10.77.0.1/24"
	labApplIP     = "10.77.0.1"
	labVMCIDR     = "10.77.0.2/24"
	labToken      = "test-boot-token"
	labVMUUID     = "6a1e2d3c-5b4a-4c3d-8e2f-0123456789ab"
	labVMSerial   = "RB-QEMU-0001"
	labVMMAC      = "52:54:00:7b:00:01"
	ovmfFirmware  = "/usr/share/ovmf/OVMF.fd"
)

// report is what the installer posts, decoded here without importing the
// installer so the test checks the wire format itself.
type report struct {
	MAC   string `json:"mac"`
	Facts struct {
		UUID        string `json:"uuid"`
		Serial      string `json:"serial"`
		Vendor      string `json:"vendor"`
		Firmware    string `json:"firmware"`
		CPUs        int    `json:"cpus"`
		MemoryBytes uint64 `json:"memory_bytes"`
		Disks       []struct {
			Name      string `json:"name"`
			SizeBytes uint64 `json:"size_bytes"`
		} `json:"disks"`
		NICs []struct {
			MAC    string `json:"mac"`
			Driver string `json:"driver"`
		} `json:"nics"`
	} `json:"facts"`
}

// TestInstallerBootsInQEMU builds the real ramdisk from Debian's kernel and
// boots it directly (-kernel/-initrd) under SeaBIOS and OVMF, on a bridge in
// a network namespace where an HTTP server plays the appliance; the facts
// the installer reports must match what QEMU was given.
// INSTALLER_QEMU_MEM (MiB, default 512) probes the memory floor;
// INSTALLER_QEMU_CONSOLE=1 prints the console even when a case passes;
// INSTALLER_BINARY uses a prebuilt static rackboot instead of building one.
func TestInstallerBootsInQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU VMs (about a minute under TCG)")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatalf("qemu-system-x86_64 is required (scripts/ci-deps installs it): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root for the network namespace")
	}
	vmlinuz, initrd := buildRealRamdisk(t)
	mem := 512
	if v := os.Getenv("INSTALLER_QEMU_MEM"); v != "" {
		mem, _ = strconv.Atoi(v)
	}
	cases := []struct {
		name, firmware string
		dhcp           bool
	}{
		{"seabios", "bios", false},
		{"ovmf", "uefi", false},
		{"seabios-dhcp", "bios", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := newLabNetns(t)
			if tc.dhcp {
				ns.startDHCP(t)
			}
			reports, url := ns.appliance(t)
			vm := bootVM(t, ns, vmlinuz, initrd, mem, tc.firmware, url, !tc.dhcp)
			select {
			case rep := <-reports:
				t.Logf("FIGURE %s mem=%dMiB report after %.1fs", tc.name, mem, time.Since(vm.start).Seconds())
				checkReport(t, rep, tc.firmware, mem)
			case err := <-vm.exited:
				t.Fatalf("qemu exited before a report (%v); console:\n%s", err, tail(vm.serial, 60))
			case <-time.After(2 * time.Minute):
				t.Fatalf("no report in 2 minutes; console:\n%s", tail(vm.serial, 60))
			}
			waitConsole(t, vm.serial, "rackboot-installer: reported", 30*time.Second)
			waitConsole(t, vm.serial, "rackboot-installer: next action=wait", 30*time.Second)
		})
	}
}

func checkReport(t *testing.T, rep report, firmware string, memMiB int) {
	t.Helper()
	f := rep.Facts
	if rep.MAC != labVMMAC {
		t.Errorf("mac = %q, want %s", rep.MAC, labVMMAC)
	}
	if f.UUID != labVMUUID || f.Serial != labVMSerial || f.Vendor != "QEMU" {
		t.Errorf("uuid %q serial %q vendor %q", f.UUID, f.Serial, f.Vendor)
	}
	if f.Firmware != firmware || f.CPUs != 1 {
		t.Errorf("firmware %q cpus %d, want %s 1", f.Firmware, f.CPUs, firmware)
	}
	if f.MemoryBytes != uint64(memMiB)<<20 {
		t.Errorf("memory = %d, want %d MiB", f.MemoryBytes, memMiB)
	}
	if len(f.Disks) != 1 || f.Disks[0].Name != "vda" || f.Disks[0].SizeBytes != 1<<30 {
		t.Errorf("disks = %+v, want vda of 1 GiB", f.Disks)
	}
	if len(f.NICs) != 1 || f.NICs[0].MAC != labVMMAC || f.NICs[0].Driver != "virtio_net" {
		t.Errorf("nics = %+v", f.NICs)
	}
}

// buildRealRamdisk fetches Debian's kernel and builds the ramdisk with a
// fresh static rackboot, reporting its size.
func buildRealRamdisk(t *testing.T) (vmlinuz, initrd string) {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(repo, "scripts/fetch-kernel")).Output()
	if err != nil {
		t.Fatalf("scripts/fetch-kernel: %v", err)
	}
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		paths[k] = v
	}
	dir := t.TempDir()
	bin := os.Getenv("INSTALLER_BINARY")
	if bin == "" {
		bin = filepath.Join(dir, "rackboot")
		if err := BuildBinary(context.Background(), repo, "./cmd/rackboot", bin); err != nil {
			t.Fatal(err)
		}
	}
	initrd = filepath.Join(dir, "installer.cpio.gz")
	start := time.Now()
	if err := BuildFile(Config{ModulesDir: paths["MODULES"], Binary: bin}, initrd); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(initrd)
	bi, _ := os.Stat(bin)
	t.Logf("FIGURE ramdisk %d bytes compressed (binary %d bytes), built in %v", fi.Size(), bi.Size(), time.Since(start).Round(time.Millisecond))
	if fi.Size() >= 40<<20 {
		t.Errorf("ramdisk is %d bytes, goal < 40 MB", fi.Size())
	}
	return paths["VMLINUZ"], initrd
}

// labNetns is a network namespace with a bridge holding the appliance's
// address and one tap for the VM.
type labNetns struct{ name string }

func newLabNetns(t *testing.T) *labNetns {
	t.Helper()
	ns := &labNetns{name: fmt.Sprintf("rbinst-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)}
	run(t, "ip", "netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "br0", "type", "bridge"},
		{"addr", "add", labBridgeCIDR, "dev", "br0"},
		{"link", "set", "br0", "up"},
		{"tuntap", "add", "tap0", "mode", "tap"},
		{"link", "set", "tap0", "master", "br0"},
		{"link", "set", "tap0", "up"},
	} {
		run(t, "ip", append([]string{"-n", ns.name}, args...)...)
	}
	return ns
}

// startDHCP runs dnsmasq as a DHCP-only server on the bridge.
func (ns *labNetns) startDHCP(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Fatalf("dnsmasq (dnsmasq-base) is required for the DHCP case: %v", err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.name, "dnsmasq", "--no-daemon", "--port=0",
		"--interface=br0", "--bind-interfaces", "--dhcp-range=10.77.0.50,10.77.0.60,1h",
		"--dhcp-option=option:router,"+labApplIP, "--no-resolv", "--no-hosts",
		"--dhcp-leasefile="+filepath.Join(t.TempDir(), "leases"), "--pid-file=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// appliance serves the three machine routes the installer calls before it
// waits (claim, inspect, next) on the bridge address and hands each
// accepted report to the returned channel. The claim hands out labToken.
func (ns *labNetns) appliance(t *testing.T) (<-chan report, string) {
	t.Helper()
	ln, err := listenInNetns(ns.name, labApplIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan report, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /machine/v1/claim", func(w http.ResponseWriter, r *http.Request) {
		var c struct{ Nonce string }
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || len(c.Nonce) < 16 {
			http.Error(w, `{"error":"malformed claim"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"token":"` + labToken + `","state":"inspecting"}`))
	})
	mux.HandleFunc("POST /machine/v1/inspect", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+labToken {
			http.Error(w, `{"error":"bad boot token"}`, http.StatusUnauthorized)
			return
		}
		var rep report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
			return
		}
		reports <- rep
		w.Write([]byte(`{"status":"ready"}`))
	})
	mux.HandleFunc("GET /machine/v1/next", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"action":"wait","state":"ready"}`))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return reports, srv.URL
}

// listenInNetns opens a TCP listener inside the named namespace: a socket
// belongs to the namespace of the thread that created it, so one locked
// thread switches in, listens, and dies with the goroutine (Go retires a
// thread still locked when its goroutine exits, so no thread is left in the
// wrong namespace).
func listenInNetns(ns, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}

type vm struct {
	start  time.Time
	serial string
	exited chan error // receives QEMU's exit (a kernel panic ends it: -no-reboot)
}

// bootVM starts QEMU on the namespace's tap with a blank 1 GiB disk.
func bootVM(t *testing.T, ns *labNetns, vmlinuz, initrd string, memMiB int, firmware, url string, static bool) *vm {
	t.Helper()
	dir := t.TempDir()
	disk := filepath.Join(dir, "blank1G.raw")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}
	v := &vm{serial: filepath.Join(dir, "serial.log"), exited: make(chan error, 1)}
	// panic=-1 with -no-reboot turns a kernel panic (out of memory) into
	// QEMU exiting, so a failing case ends at once.
	cmdline := "console=ttyS0 panic=-1 rackboot.url=" + url + " rackboot.mac=" + labVMMAC +
		" rackboot.mode=inspect"
	if static {
		cmdline += " rackboot.ip=" + labVMCIDR + " rackboot.gw=" + labApplIP
	}
	args := []string{"netns", "exec", ns.name, "qemu-system-x86_64",
		"-accel", "tcg", "-m", strconv.Itoa(memMiB), "-smp", "1",
		"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
		"-display", "none", "-monitor", "none", "-serial", "file:" + v.serial, "-no-reboot",
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac=" + labVMMAC,
		"-drive", "if=virtio,file=" + disk + ",format=raw",
		"-uuid", labVMUUID, "-smbios", "type=1,serial=" + labVMSerial,
	}
	if firmware == "uefi" {
		args = append(args, "-bios", ovmfFirmware)
	}
	cmd := exec.Command("ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	v.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { v.exited <- cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-waited
		if t.Failed() || os.Getenv("INSTALLER_QEMU_CONSOLE") != "" {
			t.Logf("qemu stderr: %s\nconsole tail:\n%s", stderr.String(), tail(v.serial, 80))
		}
	})
	return v
}

// waitConsole waits for a line containing want in the serial log.
func waitConsole(t *testing.T, path, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(want)) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("console never showed %q", want)
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}
