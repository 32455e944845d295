package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostPowerThroughVirtualBMC runs the whole path an operator uses: the
// CLI asks serve, serve's Fleet asks a virtual Redfish BMC (started with
// `rackboot bmc virtual`), which starts and stops a real QEMU.
func TestHostPowerThroughVirtualBMC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts QEMU")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 not found (scripts/ci-deps installs it)")
	}
	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	bmcAddr := l.Addr().String()
	l.Close()
	t.Setenv("RACKBOOT_BMC_PASSWORD", "lab-secret")
	ctx, cancel := context.WithCancel(context.Background())
	bmcDone := make(chan int, 1)
	var bmcLog syncBuffer
	pidFile := filepath.Join(dir, "vm.pid")
	go func() {
		bmcDone <- run(ctx, []string{"bmc", "virtual", "--listen", bmcAddr, "--qmp-socket", filepath.Join(dir, "vm.qmp"), "--log-format", "json", "--",
			qemu, "-accel", "tcg", "-m", "64", "-nodefaults", "-display", "none", "-pidfile", pidFile}, &bmcLog, &bmcLog)
	}()
	defer func() { cancel(); <-bmcDone }()

	url, stop := startServe(t, dir, "--bmc-min-gap", "10ms", "--bmc-poll-interval", "1h")
	defer stop()
	common := []string{"--server", url, "--data-dir", dir}
	host := func(args ...string) (string, int) {
		return cli(t, append(append([]string{"host"}, args...), common...)...)
	}
	const mac = "52:54:00:aa:00:01"
	if out, code := host("add", mac, "--bmc-address", "http://"+bmcAddr, "--bmc-protocol", "redfish", "--bmc-username", "admin"); code != 0 {
		t.Fatalf("host add: %s", out)
	}
	out, code := host("power", mac, "on")
	if code != 0 || !strings.Contains(out, "power on") {
		t.Fatalf("power on: %d %s\nbmc log: %s", code, out, bmcLog.String())
	}
	pid := readPid(t, pidFile)
	if !alive(pid) {
		t.Fatalf("power on, but QEMU (pid %d) is not running", pid)
	}
	if out, code := host("power", mac, "status"); code != 0 || !strings.Contains(out, "power on") {
		t.Fatalf("status: %d %s", code, out)
	}
	if out, code := host("power", mac, "off"); code != 0 || !strings.Contains(out, "power off") {
		t.Fatalf("power off: %d %s", code, out)
	}
	if alive(pid) {
		t.Fatalf("power off, but QEMU (pid %d) still runs", pid)
	}
	if out, _ := host("show", mac); !strings.Contains(out, "power-off: off") {
		t.Fatalf("events do not record the power actions:\n%s", out)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		if b, err := os.ReadFile(path); err == nil {
			var pid int
			if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &pid); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

// alive reports whether pid runs and is not a zombie (the machine's PID 1
// may not reap QEMU's parentless children).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.TrimSpace(s[strings.LastIndex(s, ")")+1:]), "Z")
}
