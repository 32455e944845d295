package resources

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// vmRealTests are the tests that must pass (not skip) inside the VM.
var vmRealTests = []string{"TestSvcRealSystemd", "TestSvcRealUnit", "TestPkgRealApt", "TestPkgRealDpkgReadOnly"}

// TestSvcPkgInSystemdVM runs this package's real-systemd and real-apt
// tests (every test named *Real*) in a Debian 12 VM with systemd as PID 1:
// scripts/systemd-vm builds the image (once per machine, cached in
// ~/.cache/rackboot/systemd-vm), the test binary goes on a second disk,
// and the VM's rackboot-vmtest.service runs it with its output on the
// serial console and powers off. No network in
// the VM. Skipped with -short; missing tools fail it.
func TestSvcPkgInSystemdVM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM (about a minute under TCG): not with -short")
	}
	if os.Getenv(vmEnv) != "" {
		t.Skip("already in the VM")
	}
	for _, c := range []string{"qemu-system-x86_64", "mkfs.ext4"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("needs %s (scripts/ci-deps installs it): %v", c, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command(filepath.Join(root, "scripts", "systemd-vm")).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("scripts/systemd-vm: %v\n%s", err, tail(stderr))
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
	t.Logf("image ready in %v", time.Since(start).Round(time.Millisecond))

	// The test binary, static, on an ext4 disk of its own with the script
	// the VM runs.
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "test", "-c", "-o", filepath.Join(disk, "resources.test"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, b)
	}
	run := "#!/bin/sh\nset -e\ncd /var/tmp\nexport " + vmEnv + "=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" +
		"exec /mnt/test/resources.test -test.run '" + "Real" + "' -test.v -test.count=1 -test.timeout=200s\n"
	if err := os.WriteFile(filepath.Join(disk, "run"), []byte(run), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "test.ext4")
	if b, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", disk, img, "96M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, b)
	}
	t.Logf("test disk ready in %v", time.Since(start).Round(time.Millisecond))

	// Boot. -snapshot keeps the cached image unchanged.
	args := []string{
		"-machine", "q35", "-m", "1024", "-smp", "2",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-nic", "none", "-no-reboot",
		"-snapshot",
		"-kernel", paths["VMLINUZ"], "-initrd", paths["INITRD"],
		"-append", "console=ttyS0 root=/dev/vda rw quiet loglevel=3 systemd.show_status=false panic=-1",
		"-drive", "file=" + paths["ROOTFS"] + ",format=raw,if=virtio",
		"-drive", "file=" + img + ",format=raw,if=virtio",
	}
	// TCG by default: /dev/kvm may exist and still not work (nested).
	// RACKBOOT_VM_ACCEL=kvm where it does.
	accel := os.Getenv("RACKBOOT_VM_ACCEL")
	if accel == "" {
		accel = "tcg,thread=multi"
	}
	args = append(args, "-accel", accel)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	stdout, err := qemu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	qemu.Stderr = qemu.Stdout
	start = time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	var console strings.Builder
	var testStart time.Duration
	exit := -1
	exitRe := regexp.MustCompile(`RACKBOOT-VM-EXIT (\d+)`)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		console.WriteString(line + "\n")
		if strings.Contains(line, "RACKBOOT-VM-START") {
			testStart = time.Since(start)
		}
		if m := exitRe.FindStringSubmatch(line); m != nil {
			fmt.Sscan(m[1], &exit)
		}
	}
	werr := qemu.Wait()
	total := time.Since(start)
	log := console.String()
	os.MkdirAll(filepath.Join(root, "build", "systemd-vm"), 0o755) // a fresh clone has no build/
	if err := os.WriteFile(filepath.Join(root, "build", "systemd-vm", "console.log"), []byte(log), 0o644); err == nil {
		t.Logf("console saved in build/systemd-vm/console.log")
	}
	if ctx.Err() != nil {
		t.Fatalf("VM timed out after %v; console:\n%s", total, log)
	}
	t.Logf("VM: booted to the tests in %v, ran and powered off in %v (qemu: %v)",
		testStart.Round(time.Millisecond), total.Round(time.Millisecond), werr)

	// The test output, as go test -v printed it in the VM.
	var report []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "---") || strings.Contains(l, "drift:") ||
			strings.HasPrefix(l, "PASS") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "ok") {
			report = append(report, l)
		}
	}
	t.Logf("in the VM:\n%s", strings.Join(report, "\n"))
	if exit != 0 {
		t.Fatalf("tests in the VM exited %d; console:\n%s", exit, log)
	}
	for _, name := range vmRealTests {
		if !strings.Contains(log, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the VM", name)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", log)
	}
}
