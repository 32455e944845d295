package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bootFiles makes an iPXE dir with the three loaders and an installer
// kernel and initrd, for doctor's file checks.
func bootFiles(t *testing.T) (ipxeDir, kernel, initrd string) {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"undionly.kpxe", "ipxe.efi", "snponly.efi", "vmlinuz", "initrd.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd.cpio.gz")
}

// TestDoctorFindsLocalProblems: a port taken, a loader missing, an
// installer initrd not set, a data dir that cannot be written; each is
// named with its fix, and doctor exits 1. With all of them mended it
// exits 0.
func TestDoctorFindsLocalProblems(t *testing.T) {
	ipxe, kernel, initrd := bootFiles(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	os.Remove(filepath.Join(ipxe, "snponly.efi"))
	args := []string{"doctor", "--dhcp-mode", "off", "--api-addr", taken.Addr().String(), "--http-addr", "127.0.0.1:0",
		"--tftp-addr", "127.0.0.1:0", "--ipxe-dir", ipxe, "--installer-kernel", kernel,
		"--data-dir", "/proc/rackboot-doctor-test"}
	out, code := cli(t, args...)
	if code != 1 {
		t.Fatalf("doctor with problems exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		"PROBLEM  port api-addr", "address already in use",
		"PROBLEM  iPXE snponly.efi", "apt install ipxe",
		"PROBLEM  installer initrd", "--installer-initrd is not set",
		"PROBLEM  data dir",
		"ok       iPXE ipxe.efi",
		"4 problem(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out)
		}
	}

	os.WriteFile(filepath.Join(ipxe, "snponly.efi"), []byte("x"), 0o644)
	args = []string{"doctor", "--dhcp-mode", "off", "--api-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--tftp-addr", "127.0.0.1:0", "--ipxe-dir", ipxe, "--installer-kernel", kernel, "--installer-initrd", initrd,
		"--data-dir", t.TempDir()}
	if out, code := cli(t, args...); code != 0 || strings.Contains(out, "PROBLEM") {
		t.Fatalf("doctor with nothing wrong exited %d:\n%s", code, out)
	}

	// The signed chain asked for, with a shim that is not there: a
	// problem naming the package; GRUB, present, is ok.
	grub := filepath.Join(t.TempDir(), "grubnetx64.efi.signed")
	os.WriteFile(grub, []byte("x"), 0o644)
	args = append(args, "--uefi-loader", "shim", "--shim-file", "/nonexistent/shimx64.efi.signed", "--grub-file", grub)
	out, code = cli(t, args...)
	if code != 1 || !strings.Contains(out, "PROBLEM  Secure Boot shim") || !strings.Contains(out, "apt install shim-signed") ||
		!strings.Contains(out, "ok       Secure Boot GRUB") {
		t.Fatalf("doctor with --uefi-loader shim and no shim exited %d:\n%s", code, out)
	}
}

var doctorSeq atomic.Int32

// TestDoctorFindsAnotherDHCPServer runs doctor in a network namespace
// whose interface shares a link with a real dnsmasq handing out
// addresses: doctor's DISCOVER gets its OFFER, and in full mode that is a
// problem naming the server. Without dnsmasq, the same check passes. And
// an interface that does not exist, or has no address, is named.
func TestDoctorFindsAnotherDHCPServer(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces: not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	dnsmasq, err := exec.LookPath("dnsmasq")
	if err != nil {
		t.Fatalf("needs dnsmasq (scripts/ci-deps installs it): %v", err)
	}
	id := fmt.Sprintf("rbdoc%d%d", os.Getpid()%100000, doctorSeq.Add(1))
	ns, rival := id+"a", id+"b"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, n := range []string{ns, rival} {
		ip("netns", "add", n)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
		ip("-n", n, "link", "set", "lo", "up")
	}
	ip("link", "add", "prov0", "netns", ns, "type", "veth", "peer", "name", "lan0", "netns", rival)
	ip("-n", ns, "addr", "add", "10.88.0.1/24", "dev", "prov0")
	ip("-n", ns, "link", "set", "prov0", "up")
	ip("-n", rival, "addr", "add", "10.88.0.2/24", "dev", "lan0")
	ip("-n", rival, "link", "set", "lan0", "up")
	ip("-n", ns, "link", "add", "bare0", "type", "veth", "peer", "name", "bare1")
	ip("-n", ns, "link", "set", "bare0", "up")

	ipxe, kernel, initrd := bootFiles(t)
	doctorIn := func(extra ...string) (string, int) {
		t.Helper()
		args := append([]string{"doctor", "--api-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--tftp-addr", "127.0.0.1:0",
			"--ipxe-dir", ipxe, "--installer-kernel", kernel, "--installer-initrd", initrd, "--data-dir", t.TempDir(),
			"--dhcp-probe-wait", "3s"}, extra...)
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0])
		cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN="+strings.Join(args, " "))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	// No rival yet: full mode on prov0 is fine.
	out, code := doctorIn("--interface", "prov0", "--dhcp-mode", "full")
	if code != 0 || !strings.Contains(out, "ok       other DHCP") || !strings.Contains(out, "ok       interface        prov0 has 10.88.0.1/24") {
		t.Fatalf("doctor on a quiet segment exited %d:\n%s", code, out)
	}

	d := exec.Command("ip", "netns", "exec", rival, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0",
		"--interface=lan0", "--bind-interfaces", "--dhcp-range=10.88.0.100,10.88.0.150,1h", "--leasefile-ro", "--pid-file=")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	var found bool
	for i := 0; i < 5 && !found; i++ { // dnsmasq needs a moment to bind
		out, code = doctorIn("--interface", "prov0", "--dhcp-mode", "full")
		found = code == 1 && strings.Contains(out, "PROBLEM  other DHCP       10.88.0.2 answers on prov0")
		if !found {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !found {
		t.Fatalf("doctor beside dnsmasq in full mode exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "--dhcp-mode proxy") {
		t.Errorf("the finding does not say how to fix it:\n%s", out)
	}
	out, code = doctorIn("--interface", "prov0", "--dhcp-mode", "proxy")
	if code != 0 || !strings.Contains(out, "proxy mode works beside it") {
		t.Errorf("doctor beside dnsmasq in proxy mode exited %d:\n%s", code, out)
	}

	out, code = doctorIn("--interface", "nosuch0", "--dhcp-mode", "full")
	if code != 1 || !strings.Contains(out, "PROBLEM  interface        nosuch0") {
		t.Errorf("doctor with a missing interface exited %d:\n%s", code, out)
	}
	out, code = doctorIn("--interface", "bare0", "--dhcp-mode", "full")
	if code != 1 || !strings.Contains(out, "has no IPv4 address") || !strings.Contains(out, "ip addr add") {
		t.Errorf("doctor with an interface without an address exited %d:\n%s", code, out)
	}
}
