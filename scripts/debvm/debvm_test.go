package debvm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// The versions the test packages: old is installed first, new upgrades it.
const oldVersion, newVersion = "0.1.0", "0.1.1"

// TestDebianPackageInSystemdVM: see the package doc and guest.sh. Skipped
// with -short; missing tools fail it. Slow under TCG (two boots).
func TestDebianPackageInSystemdVM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM twice (minutes under TCG): not with -short")
	}
	for _, c := range []string{"qemu-system-x86_64", "mkfs.ext4", "gzip"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("needs %s (scripts/ci-deps installs it): %v", c, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	paths := vmImage(t, root)

	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	for _, v := range []struct{ sub, version string }{{"old", oldVersion}, {"new", newVersion}} {
		buildDeb(t, root, filepath.Join(disk, v.sub), v.version)
	}
	ipxeDeb(t, root, disk)
	hosts, leases := writeInventoryBackup(t, filepath.Join(disk, "inventory.backup"))
	guest, err := os.ReadFile("guest.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disk, "run"), guest, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "test.ext4")
	if b, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", disk, img, "160M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out.raw") // the guest's backup after the upgrade
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(out, 64<<20)

	console := bootVM(t, root, paths, img, out)
	checks := regexp.MustCompile(`CHECK (ok|FAIL) (.*)`).FindAllStringSubmatch(console, -1)
	var failed []string
	for _, c := range checks {
		if c[1] == "FAIL" {
			failed = append(failed, c[2])
		}
	}
	t.Logf("%d checks in the VM, %d failed", len(checks), len(failed))
	for _, want := range []string{"apt install old", "recommends the signed chain", "service answers /healthz", "runs as user rackboot",
		"ambient capabilities are NET_BIND_SERVICE and NET_RAW", "CLI with the admin token: host add", "reload reread the templates",
		"restore into the stopped data dir", "service came back after the reboot", "apt install new (upgrade)",
		"hosts kept over the upgrade", "apt remove", "service stopped (remove)", "unit gone (remove)",
		"binary gone (remove)", "conffile kept (remove)", "user kept (remove)", "data kept (remove)",
		"hosts kept over remove and reinstall", "apt purge", "user gone", "data gone (purge)", "conffile gone (purge)"} {
		if !strings.Contains(console, "CHECK ok "+want) {
			t.Errorf("in the VM, %q did not pass", want)
		}
	}
	if len(failed) > 0 || !strings.Contains(console, "RACKBOOT-VM-EXIT 0") {
		t.Fatalf("in the VM: failed %q; console:\n%s", failed, tail(console, 200))
	}
	checkUpgradedInventory(t, out, hosts, leases)
}

// vmImage builds (once, cached) the VM image and returns its paths.
func vmImage(t *testing.T, root string) map[string]string {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "scripts", "systemd-vm")).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("scripts/systemd-vm: %v\n%s", err, stderr)
	}
	paths := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			paths[k] = v
		}
	}
	for _, k := range []string{"VMLINUZ", "INITRD", "ROOTFS"} {
		if paths[k] == "" {
			t.Fatalf("scripts/systemd-vm printed no %s: %q", k, out)
		}
	}
	return paths
}

func goBin() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// buildDeb builds rackboot as the given version and packages it into dir,
// as make deb does.
func buildDeb(t *testing.T, root, dir, version string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rackboot")
	build := exec.Command(goBin(), "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin, "./cmd/rackboot")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	pkg := exec.Command(goBin(), "run", ".", "-binary", bin, "-version", version, "-out", dir, "-src", filepath.Join(root, "packaging", "deb"))
	pkg.Dir = filepath.Join(root, "scripts", "debpkg")
	if b, err := pkg.CombinedOutput(); err != nil {
		t.Fatalf("scripts/debpkg: %v\n%s", err, b)
	}
	if !fileExists(filepath.Join(dir, "rackboot_"+version+"_amd64.deb")) {
		t.Fatalf("scripts/debpkg wrote no rackboot_%s_amd64.deb in %s", version, dir)
	}
}

// ipxeDeb puts Debian's ipxe package, a dependency of rackboot's, in dir
// for the VM, which has no network: apt-get download, once, into
// build/debvm.
func ipxeDeb(t *testing.T, root, dir string) {
	t.Helper()
	cache := filepath.Join(root, "build", "debvm")
	debs, _ := filepath.Glob(filepath.Join(cache, "ipxe_*.deb"))
	if len(debs) == 0 {
		os.MkdirAll(cache, 0o755)
		get := exec.Command("apt-get", "download", "ipxe")
		get.Dir = cache
		if b, err := get.CombinedOutput(); err != nil {
			t.Fatalf("apt-get download ipxe: %v\n%s", err, b)
		}
		debs, _ = filepath.Glob(filepath.Join(cache, "ipxe_*.deb"))
	}
	if len(debs) == 0 {
		t.Fatal("apt-get download ipxe left no ipxe_*.deb")
	}
	b, err := os.ReadFile(debs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(debs[0])), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeInventoryBackup makes an inventory with hosts (one with a sealed
// BMC password) and leases, and backs it up to path for the guest to
// restore.
func writeInventoryBackup(t *testing.T, path string) (hosts []string, leases map[netip.Addr]string) {
	t.Helper()
	ctx := context.Background()
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leases = map[netip.Addr]string{}
	for i := 0; i < 20; i++ {
		h := inventory.Host{MAC: fmt.Sprintf("52:54:00:77:00:%02x", i), Hostname: fmt.Sprintf("restored-%d", i)}
		if i == 0 {
			h.BMC = &inventory.BMC{Address: "10.9.0.1", Protocol: "ipmi", Username: "admin", Password: "vm-secret"}
		}
		if _, err := db.CreateHost(ctx, h, "test"); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h.MAC)
		ip := netip.AddrFrom4([4]byte{10, 77, 0, byte(10 + i)})
		l := inventory.Lease{IP: ip, MAC: h.MAC, Expires: time.Now().Add(24 * time.Hour).UTC()}
		if err := db.WriteLeases(ctx, []inventory.LeaseChange{{Put: []inventory.Lease{l}}}); err != nil {
			t.Fatal(err)
		}
		leases[ip] = h.MAC
	}
	var buf bytes.Buffer
	if _, err := db.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return hosts, leases
}

// bootVM boots the image with the test disk (vdb) and the output disk
// (vdc) until it powers off, rebooting as the guest asks, and returns the
// serial console.
func bootVM(t *testing.T, root string, paths map[string]string, img, out string) string {
	t.Helper()
	args := []string{
		"-machine", "q35", "-m", "1024", "-smp", "2",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-nic", "none",
		"-snapshot", // the cached image is never written; a guest reboot keeps the overlay
		"-kernel", paths["VMLINUZ"], "-initrd", paths["INITRD"],
		"-append", "console=ttyS0 root=/dev/vda rw quiet loglevel=3 systemd.show_status=false panic=-1",
		"-drive", "file=" + paths["ROOTFS"] + ",format=raw,if=virtio",
		"-drive", "file=" + img + ",format=raw,if=virtio,readonly=on",
		"-drive", "file=" + out + ",format=raw,if=virtio,snapshot=off",
	}
	accel := os.Getenv("RACKBOOT_VM_ACCEL")
	if accel == "" {
		accel = "tcg,thread=multi"
	}
	args = append(args, "-accel", accel)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	qemu := exec.CommandContext(ctx, "nice", append([]string{"qemu-system-x86_64"}, args...)...)
	stdout, err := qemu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	qemu.Stderr = qemu.Stdout
	start := time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	var console strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		console.WriteString(line + "\n")
		if strings.HasPrefix(line, "CHECK ") || strings.HasPrefix(line, "== ") {
			t.Logf("%6.1fs %s", time.Since(start).Seconds(), line)
		}
	}
	werr := qemu.Wait()
	log := console.String()
	os.MkdirAll(filepath.Join(root, "build", "debvm"), 0o755)
	os.WriteFile(filepath.Join(root, "build", "debvm", "console.log"), []byte(log), 0o644)
	if ctx.Err() != nil {
		t.Fatalf("VM timed out after %v; console:\n%s", time.Since(start), tail(log, 200))
	}
	t.Logf("VM ran %v (qemu: %v); console in build/debvm/console.log", time.Since(start).Round(time.Second), werr)
	return log
}

// checkUpgradedInventory reads the backup the guest took after the
// upgrade from the output disk and finds every host and lease there.
func checkUpgradedInventory(t *testing.T, out string, hosts []string, leases map[netip.Addr]string) {
	t.Helper()
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(string(raw[:20]), 10, 64)
	if err != nil || n <= 0 || n > int64(len(raw)-20) {
		t.Fatalf("no backup on the output disk (size field %q)", raw[:20])
	}
	dir := filepath.Join(t.TempDir(), "after-upgrade")
	if _, err := inventory.Restore(bytes.NewReader(raw[20:20+n]), dir, inventory.RestoreOptions{}); err != nil {
		t.Fatalf("the guest's backup after the upgrade: %v", err)
	}
	db, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, m := range hosts {
		if _, err := db.Host(ctx, m); err != nil {
			t.Errorf("host %s lost over the upgrade: %v", m, err)
		}
	}
	if pw, err := db.BMCPassword(ctx, hosts[0]); err != nil || pw != "vm-secret" {
		t.Errorf("BMC password after restore, reboot and upgrade: %q, %v", pw, err)
	}
	if _, err := db.Host(ctx, "52:54:00:aa:bb:02"); err != nil {
		t.Errorf("host added with the CLI before the reboot lost: %v", err)
	}
	stored, err := db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	have := map[netip.Addr]string{}
	for _, l := range stored {
		have[l.IP] = l.MAC
	}
	for ip, mac := range leases {
		if have[ip] != mac {
			t.Errorf("lease %s → %s lost over the upgrade (now %q)", ip, mac, have[ip])
		}
	}
	t.Logf("after the upgrade: %d hosts and %d leases, every one of the %d hosts and %d leases there before", len(hosts)+1, len(stored), len(hosts), len(leases))
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
