package resources

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// vmEnv is set by TestSvcPkgInSystemdVM in the VM it boots: there the real
// tests must run, so a missing prerequisite fails them instead of skipping.
const vmEnv = "RACKBOOT_SYSTEMD_VM"

// needRealHost skips (or, inside the test VM, fails) unless this is a root
// shell on a machine with systemd as PID 1 and the given commands.
func needRealHost(t *testing.T, cmds ...string) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv(vmEnv) != "" {
		skip = t.Fatalf
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		skip("needs systemd as PID 1 (/run/systemd/system absent): TestSvcPkgInSystemdVM runs this in a VM")
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	if os.Getenv(vmEnv) == "" && os.Getenv("RACKBOOT_REAL_HOST") == "" {
		skip("changes the host's units and packages: runs in the VM (TestSvcPkgInSystemdVM) or with RACKBOOT_REAL_HOST=1")
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			skip("needs %s: %v", c, err)
		}
	}
}

// sh runs a command and returns its trimmed output, failing on an error
// unless allowFail.
func sh(t *testing.T, allowFail bool, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// eventually polls cond every 50 ms for up to d and returns how long it
// took; unlike within it does not spin, as cond may run a command.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// runGraphMeta is runGraph with one resource and its metaparameters. It
// returns the resource's latest reported state.
func runGraphMeta(t *testing.T, r engine.Resource, m engine.Meta) (state func() string) {
	t.Helper()
	var mu sync.Mutex
	last := ""
	eng := engine.New(engine.Config{Quiet: 20 * time.Millisecond, OnEvent: func(ev engine.Event) {
		if ev.Type == engine.EventResource {
			mu.Lock()
			last = string(ev.Resource.State)
			mu.Unlock()
			t.Logf("status %s %s err=%v checks=%d", ev.Resource.Key, ev.Resource.State, ev.Resource.Err, ev.Resource.Checks)
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	g := engine.NewGraph()
	if err := g.Add(r, m); err != nil {
		t.Fatal(err)
	}
	if err := eng.Apply(ctx, g); err != nil {
		t.Fatal(err)
	}
	return func() string { mu.Lock(); defer mu.Unlock(); return last }
}

const realUnit = "rackboot-vmtest-sleep.service"

// TestSvcRealUnit drives a unit of its own through systemd's D-Bus API:
// started and enabled, restarted on refresh, stopped and disabled, and,
// under the engine, started again after a stop and a kill from outside,
// which only the D-Bus watch can notice in time (the enablement poll is
// 30 s).
func TestSvcRealUnit(t *testing.T) {
	needRealHost(t, "systemctl")
	path := "/etc/systemd/system/" + realUnit
	writeFile(t, path, "[Unit]\nDescription=rackboot svc test\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n")
	t.Cleanup(func() {
		exec.Command("systemctl", "disable", "--now", realUnit).Run()
		os.Remove(path)
		exec.Command("systemctl", "daemon-reload").Run()
	})
	sh(t, false, "systemctl", "daemon-reload")
	active := func() string { return sh(t, true, "systemctl", "is-active", realUnit) }
	enabled := func() string { return sh(t, true, "systemctl", "is-enabled", realUnit) }
	mainPID := func() string { return sh(t, false, "systemctl", "show", "-p", "MainPID", "--value", realUnit) }
	if a, e := active(), enabled(); a != "inactive" || e != "disabled" {
		t.Fatalf("before: %s/%s, want inactive/disabled", a, e)
	}

	up := &Svc{Named: Named{"rackboot-vmtest-sleep"}, State: SvcRunning, Enabled: ptr(true)}
	if err := up.Validate(); err != nil {
		t.Fatal(err)
	}
	if mustCheck(t, up, false) {
		t.Fatal("a stopped, disabled unit reported correct")
	}
	converge(t, up)
	if a, e := active(), enabled(); a != "active" || e != "enabled" {
		t.Fatalf("after converge: %s/%s, want active/enabled", a, e)
	}
	t.Logf("running and enabled: %s/%s", active(), enabled())

	before := mainPID()
	if err := up.Refresh(t.Context()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if after := mainPID(); after == before || after == "0" || active() != "active" {
		t.Fatalf("refresh: MainPID %s -> %s, %s; want a new process", before, after, active())
	}
	t.Logf("restarted on refresh: MainPID %s -> %s", before, mainPID())

	down := &Svc{Named: Named{"rackboot-vmtest-sleep"}, State: SvcStopped, Enabled: ptr(false)}
	converge(t, down)
	if a, e := active(), enabled(); a != "inactive" || e != "disabled" {
		t.Fatalf("after stop: %s/%s, want inactive/disabled", a, e)
	}
	if err := down.Refresh(t.Context()); err != nil || active() != "inactive" {
		t.Fatalf("refresh of a unit meant to be stopped: %v, %s", err, active())
	}
	t.Logf("stopped and disabled: %s/%s", active(), enabled())

	// Drift: the engine keeps the unit running.
	state := runGraphMeta(t, &Svc{Named: Named{"rackboot-vmtest-sleep"}, State: SvcRunning, Enabled: ptr(true)},
		engine.Meta{Retry: -1, Delay: 100 * time.Millisecond})
	eventually(t, 20*time.Second, "engine starts the unit", func() bool { return state() == string(engine.StateOK) && active() == "active" })

	pid := mainPID()
	// The stop job may be replaced by the engine's start job, and then
	// systemctl reports the cancellation: that is the point.
	out := sh(t, true, "systemctl", "stop", realUnit)
	stopped := time.Now()
	eventually(t, 15*time.Second, "unit started again after systemctl stop", func() bool {
		p := mainPID()
		return active() == "active" && p != pid && p != "0"
	})
	t.Logf("drift: systemctl stop (%q) undone in %v", out, time.Since(stopped).Round(time.Millisecond))

	pid = mainPID()
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		t.Fatalf("MainPID %q", pid)
	}
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 15*time.Second, "unit started again after kill -9", func() bool {
		p := mainPID()
		return active() == "active" && p != pid && p != "0"
	})
	t.Logf("drift: kill -9 of the main process undone in %v", time.Since(killed).Round(time.Millisecond))
}
