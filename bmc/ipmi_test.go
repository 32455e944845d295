package bmc

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/lab"
)

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestMain lets this test binary be the chassis control program of the
// lab's IPMI BMC (package lab; `rackboot lab ipmi-chassis` in the
// product), which ipmi_sim runs for every chassis command.
func TestMain(m *testing.M) {
	if len(os.Args) > 4 && os.Args[1] == "lab" && os.Args[2] == "ipmi-chassis" {
		if err := lab.Chassis(os.Args[3], os.Args[4], os.Args[5:], os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ipmiSim runs the lab's IPMI BMC: ipmi_sim on 127.0.0.1 whose chassis
// control starts and stops a QEMU VM. It returns the target and the dir
// that appears in the VM's command line. ignoreBoot makes it a BMC that
// takes boot devices and keeps its old one.
func ipmiSim(t *testing.T, ignoreBoot bool) (Target, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, port := t.TempDir(), freeUDPPort(t)
	argv, err := lab.IPMISim(self, dir, port, "admin", "secret", append(labVM, "-name", dir)) // -name: so the test can find this VM's process
	if err != nil {
		t.Fatal(err)
	}
	if ignoreBoot {
		os.WriteFile(filepath.Join(dir, lab.IgnoreBoot), nil, 0o600)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = tWriter{t}, tWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lab.StopVM(dir)
		cmd.Process.Kill()
		cmd.Wait()
	})
	target := Target{Address: "127.0.0.1", Port: port, Protocol: IPMI, Username: "admin", Password: "secret"}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"qemu.log", "chassis.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for rmcpPing(context.Background(), target.String()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("ipmi_sim did not answer RMCP ping")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return target, dir
}

func TestIPMIDrivesRealQEMU(t *testing.T) {
	needBinary(t, labVM[0], "ipmi_sim", "ipmitool")
	target, dir := ipmiSim(t, false)
	cfg := fastConfig(t)
	// Bounds for a loaded machine: every command runs ipmitool, and every
	// chassis command a shell script, each slow when the CPUs are busy.
	cfg.Timeout = 3 * time.Minute
	cfg.ConfirmInterval = 250 * time.Millisecond
	ctl := New(cfg)
	ctx := ctxT(t, 8*time.Minute)

	if err := ctl.PowerOn(ctx, target); err != nil {
		t.Fatal(err)
	}
	pid1, _ := qemuProcess(t, dir)
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
	pid2, args := qemuProcess(t, dir)
	if pid2 == "" || pid2 == pid1 {
		t.Fatalf("cycle: QEMU pid %q → %q, want a new process", pid1, pid2)
	}
	if !strings.Contains(strings.Join(args, " "), "-boot once=n") {
		t.Errorf("boot device pxe not applied: %q", args)
	}
	if err := ctl.PowerOff(ctx, target); err != nil {
		t.Fatal(err)
	}
	if pid, _ := qemuProcess(t, dir); pid != "" {
		t.Errorf("power off: QEMU %s still running", pid)
	}
}

func TestIPMIFaults(t *testing.T) {
	needBinary(t, "ipmi_sim", "ipmitool")
	noLeaks(t)
	target, _ := ipmiSim(t, false)
	ctl := New(fastConfig(t))
	ctx := ctxT(t, time.Minute)

	wrong := target
	wrong.Password = "wrong"
	start := time.Now()
	_, err := ctl.Status(ctx, wrong)
	checkErr(t, err, wrong, ErrAuth, "Unable to establish IPMI")
	t.Logf("wrong password: %v after %v", err, time.Since(start))

	dead := Target{Address: "127.0.0.1", Port: freeUDPPort(t), Protocol: IPMI, Username: "admin", Password: "secret"}
	start = time.Now()
	_, err = ctl.Status(ctx, dead)
	checkErr(t, err, dead, ErrUnreachable, "rmcp ping")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("unreachable IPMI BMC took %v to report", d)
	}
}

// TestIPMIIgnoredBootOverride: an IPMI BMC that takes the boot device and
// keeps its old one (lab.IgnoreBoot) is caught by the
// read-back of boot parameter 5.
func TestIPMIIgnoredBootOverride(t *testing.T) {
	needBinary(t, "ipmi_sim", "ipmitool")
	target, _ := ipmiSim(t, true)
	cfg := fastConfig(t)
	cfg.Timeout = time.Minute
	ctl := New(cfg)
	err := ctl.SetBootDevice(ctxT(t, 2*time.Minute), target, BootPXE, false)
	if !errors.Is(err, ErrNotApplied) || !strings.Contains(err.Error(), "asked for pxe once, the BMC reports none") {
		t.Fatalf("err = %v, want ErrNotApplied", err)
	}
	t.Log(err)
}
