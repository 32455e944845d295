package bmc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
)

// labVM is a diskless VM: it sits in SeaBIOS/iPXE, which is all a power
// test needs.
var labVM = []string{"qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nographic", "-nodefaults", "-display", "none"}

// qemuProcess finds the QEMU whose command line mentions marker (its QMP
// socket or state dir) and returns its pid and arguments.
func qemuProcess(t *testing.T, marker string) (pid string, args []string) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(d + "/cmdline")
		if err != nil || !strings.Contains(string(raw), marker) || !strings.Contains(string(raw), "qemu-system") {
			continue
		}
		stat, _ := os.ReadFile(d + "/stat")
		if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			continue // exited, not yet reaped
		}
		return filepath.Base(d), strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	}
	return "", nil
}

func TestRedfishDrivesRealQEMU(t *testing.T) {
	needBinary(t, labVM[0])
	noLeaks(t)
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	bmc, err := virtual.New(virtual.Config{Username: "admin", Password: "secret",
		QEMUArgv: labVM, QMPSocket: sock, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bmc.Close() })
	target := serve(t, bmc)
	cfg := fastConfig(t)
	cfg.Timeout = 60 * time.Second
	cfg.ConfirmInterval = 100 * time.Millisecond
	ctl := New(cfg)
	ctx := ctxT(t, 3*time.Minute)

	if err := ctl.PowerOn(ctx, target); err != nil {
		t.Fatal(err)
	}
	pid1, _ := qemuProcess(t, sock)
	if pid1 == "" {
		t.Fatal("power on: no QEMU process")
	}
	if st, err := ctl.Status(ctx, target); err != nil || st != PowerOn {
		t.Fatalf("Status = %q, %v", st, err)
	}

	if err := ctl.SetBootDevice(ctx, target, BootPXE, false); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Cycle(ctx, target); err != nil {
		t.Fatal(err)
	}
	pid2, args := qemuProcess(t, sock)
	if pid2 == "" || pid2 == pid1 {
		t.Fatalf("cycle: QEMU pid %q → %q, want a new process", pid1, pid2)
	}
	if !strings.Contains(strings.Join(args, " "), "-boot once=n") {
		t.Errorf("boot override Pxe/Once not applied: %q", args)
	}

	if err := ctl.PowerOff(ctx, target); err != nil {
		t.Fatal(err)
	}
	if pid, _ := qemuProcess(t, sock); pid != "" {
		t.Errorf("power off: QEMU %s still running", pid)
	}
	if st, err := ctl.Status(ctx, target); err != nil || st != PowerOff {
		t.Fatalf("Status = %q, %v", st, err)
	}
}
