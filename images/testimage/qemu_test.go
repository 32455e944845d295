package testimage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/installer"
	"github.com/rackboot/rackboot/seed"
	"golang.org/x/sys/unix"
)

// The test's lab network lives in its own namespace (scripts/lab); nothing
// leaves it. busybox udhcpd hands out addresses, and an HTTP server opened
// inside the namespace plays the appliance's first-boot endpoint.
const (
	labCIDR   = "10.213.77.1/24"
	labIP     = "10.213.77.1"
	labToken  = "testimage-token"
	ovmfCode  = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars  = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	bootLimit = 4 * time.Minute
)

type firstBoot struct {
	MAC      string `json:"mac"`
	Event    string `json:"event"`
	Firmware string `json:"firmware"`
	Auth     string `json:"-"`
}

// TestBootsFromDisk builds the image with scripts/test-image, seeds a copy
// of it per firmware with WriteSeed, and boots each in QEMU (TCG) from its
// own disk, SeaBIOS and OVMF side by side. The NICs carry no option ROM and
// the disk is the first boot device, so nothing but the disk can boot them.
// It checks the console's "booted from disk <fw>" line, the seed's
// hostname, and the first-boot report each VM POSTs.
func TestBootsFromDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU VMs")
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root for the lab network namespace")
	}
	for _, tool := range []string{"qemu-system-x86_64", "ip", "busybox", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/ci-deps", tool)
		}
	}
	for _, f := range []string{ovmfCode, ovmfVars} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("OVMF: %v (package ovmf)", err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	img := buildImage(t, root)
	lab := newLab(t, root)

	reports := make(chan firstBoot, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/machine/v1/firstboot" {
			http.NotFound(w, r)
			return
		}
		var fb firstBoot
		if err := json.NewDecoder(r.Body).Decode(&fb); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fb.Auth = r.Header.Get("Authorization")
		reports <- fb
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}\n")
	})}
	ln := lab.listen(t, labIP+":0")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String()

	var mu sync.Mutex
	got := map[string]firstBoot{}
	go func() {
		for fb := range reports {
			mu.Lock()
			got[fb.MAC] = fb
			mu.Unlock()
		}
	}()

	vms := []struct{ fw, mac string }{{"bios", "52:54:00:77:00:01"}, {"uefi", "52:54:00:77:00:02"}}
	t.Run("boot", func(t *testing.T) {
		for i, vm := range vms {
			t.Run(vm.fw, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				disk := filepath.Join(dir, "disk.raw")
				copyFile(t, img, disk)
				files := mustRender(seed.Config{
					InstanceID: "testimage-" + vm.fw + "-1", Hostname: "testimage-" + vm.fw, MAC: vm.mac, URL: url, Token: labToken,
					SSHKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 test@rackboot"},
				})
				if _, err := installer.WriteSeed(disk, imageSize(t, img), files); err != nil {
					t.Fatal(err)
				}
				tap := fmt.Sprintf("ti%d", i)
				lab.tap(t, tap)
				console := filepath.Join(dir, "console.log")
				ctx, cancel := context.WithTimeout(context.Background(), bootLimit)
				defer cancel()
				args := qemuArgs(vm.fw, vm.mac, disk, tap, console, dir)
				cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts/lab"), append([]string{"exec", lab.name}, args...)...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				defer func() {
					cancel()
					<-done
					if t.Failed() {
						b, _ := os.ReadFile(console)
						t.Logf("console (%s):\n%s\nqemu stderr: %s", vm.fw, tail(b, 4000), stderr.String())
					}
				}()

				wait := func(line string) time.Duration {
					t.Helper()
					for {
						// The serial console ends lines with \r\n.
						if b, _ := os.ReadFile(console); bytes.Contains(bytes.ReplaceAll(b, []byte("\r"), nil), []byte(line)) {
							return time.Since(start)
						}
						select {
						case err := <-done:
							done <- err
							t.Fatalf("qemu exited before %q: %v", line, err)
						case <-ctx.Done():
							t.Fatalf("no %q within %s", line, bootLimit)
						case <-time.After(100 * time.Millisecond):
						}
					}
				}
				booted := wait("rackboot-testimage: booted from disk " + vm.fw + "\n")
				wait("rackboot-testimage: hostname testimage-" + vm.fw + "\n")
				wait("rackboot-testimage: ssh keys 1\n")
				wait("rackboot-testimage: seed from /dev/vda2\n")
				reported := wait("rackboot-testimage: first-boot reported to " + url)
				t.Logf("%s: QEMU start to \"booted from disk\" %.1f s, to first-boot reported %.1f s",
					vm.fw, booted.Seconds(), reported.Seconds())

				mu.Lock()
				fb, ok := got[vm.mac]
				mu.Unlock()
				want := firstBoot{MAC: vm.mac, Event: "first-boot", Firmware: vm.fw, Auth: "Bearer " + labToken}
				if !ok || fb != want {
					t.Errorf("first-boot report %+v (received %v), want %+v", fb, ok, want)
				}
			})
		}
	})
}

// buildImage runs scripts/test-image into the repository's build directory,
// so the kernel package downloaded once is reused.
func buildImage(t *testing.T, root string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "scripts/test-image"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BUILD="+filepath.Join(root, "build"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/test-image: %v\n%s", err, out)
	}
	img := strings.TrimSpace(string(out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:]))
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatalf("scripts/test-image printed %q: %v\n%s", img, err, out)
	}
	t.Logf("scripts/test-image: %s, %d MiB, %.1f s", img, fi.Size()>>20, time.Since(start).Seconds())
	return img
}

func qemuArgs(fw, mac, disk, tap, console, dir string) []string {
	args := []string{"qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "512", "-smp", "1",
		"-display", "none", "-nodefaults", "-no-user-config",
		"-serial", "file:" + console,
		"-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no",
		// No option ROM and no boot index: the NIC cannot netboot the VM.
		"-device", "virtio-net-pci,netdev=n0,mac=" + mac + ",romfile=",
		"-drive", "if=none,id=d0,file=" + disk + ",format=raw",
		"-device", "virtio-blk-pci,drive=d0,bootindex=1",
	}
	if fw == "uefi" {
		vars := filepath.Join(dir, "OVMF_VARS.fd")
		b, err := os.ReadFile(ovmfVars)
		if err == nil {
			err = os.WriteFile(vars, b, 0o644)
		}
		if err != nil {
			panic(err)
		}
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	return args
}

type lab struct {
	root, name, dir string
}

// newLab makes a namespace with a bridge (scripts/lab up) and runs busybox
// udhcpd on it; cleanup tears everything in it down.
func newLab(t *testing.T, root string) *lab {
	t.Helper()
	l := &lab{root: root, name: fmt.Sprintf("ti%d", os.Getpid()%100000), dir: t.TempDir()}
	l.run(t, "up", l.name, labCIDR)
	// Not `lab down`: it kills every process in the namespace, and this test
	// process may count as one (listen's thread can be the main thread). The
	// VMs and udhcpd are stopped by their own cleanups, which run first.
	t.Cleanup(func() { exec.Command("ip", "netns", "del", "rb-"+l.name).Run() })
	conf := filepath.Join(l.dir, "udhcpd.conf")
	leases := filepath.Join(l.dir, "udhcpd.leases")
	os.WriteFile(leases, nil, 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`start 10.213.77.100
end 10.213.77.150
interface br0
lease_file %s
pidfile %s
option subnet 255.255.255.0
option router %s
option lease 3600
`, leases, filepath.Join(l.dir, "udhcpd.pid"), labIP)), 0o644)
	cmd := exec.Command(filepath.Join(root, "scripts/lab"), "exec", l.name, "busybox", "udhcpd", "-f", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("udhcpd: %s", out.String())
		}
	})
	return l
}

func (l *lab) run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(filepath.Join(l.root, "scripts/lab"), args...).CombinedOutput(); err != nil {
		t.Fatalf("lab %v: %v: %s", args, err, out)
	}
}

func (l *lab) tap(t *testing.T, name string) { l.run(t, "tap", l.name, name) }

// listen opens a TCP listener inside the lab namespace, from a thread that
// is never handed back to the scheduler (it dies with its goroutine).
func (l *lab) listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open("/var/run/netns/rb-" + l.name)
		if err != nil {
			c <- result{nil, err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			c <- result{nil, fmt.Errorf("setns: %w", err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		c <- result{ln, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.ln
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func imageSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
