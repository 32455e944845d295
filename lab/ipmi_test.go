package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chassis runs one chassis command and returns what it printed.
func chassis(t *testing.T, dir, op string, args ...string) string {
	t.Helper()
	var b strings.Builder
	if err := Chassis(dir, op, args, &b); err != nil {
		t.Fatalf("%s %v: %v", op, args, err)
	}
	return b.String()
}

// The chassis control drives a real process in QEMU's place (a shell
// that records its arguments): power on starts it with the boot device
// set for that one start, power off stops it.
func TestChassis(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := []string{"sh", "-c", `echo "start $@" >> ` + args + `; exec sleep 600`, "sh"}
	if _, err := IPMISim("/bin/rackboot", dir, 9001, "admin", "pw", fake); err != nil {
		t.Fatal(err)
	}
	if lan, _ := os.ReadFile(filepath.Join(dir, "lan.conf")); !strings.Contains(string(lan), `chassis_control "/bin/rackboot lab ipmi-chassis `+dir+`"`) {
		t.Errorf("lan.conf:\n%s", lan)
	}
	if got := chassis(t, dir, "get", "power", "boot"); got != "power:0\nboot:none\n" {
		t.Errorf("before: %q", got)
	}
	chassis(t, dir, "set", "boot", "pxe")
	if got := chassis(t, dir, "get", "boot"); got != "boot:pxe\n" {
		t.Errorf("boot after set pxe: %q", got)
	}
	chassis(t, dir, "set", "power", "1")
	t.Cleanup(func() { vmStop(dir) })
	if got := chassis(t, dir, "get", "power", "boot"); got != "power:1\nboot:none\n" {
		t.Errorf("after power on: %q, want on and the boot device used up", got)
	}
	waitLines(t, args, 1)
	chassis(t, dir, "set", "power", "0")
	if got := chassis(t, dir, "get", "power"); got != "power:0\n" {
		t.Errorf("after power off: %q", got)
	}
	chassis(t, dir, "set", "power", "1") // no boot device this time
	waitLines(t, args, 2)
	chassis(t, dir, "set", "power", "0")
	b, _ := os.ReadFile(args)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || lines[0] != "start -boot once=n" || lines[1] != "start" {
		t.Errorf("the starts' arguments: %q, want -boot once=n then none", lines)
	}
	if err := Chassis(dir, "frob", nil, &strings.Builder{}); err == nil {
		t.Error("op frob accepted")
	}
}

// waitLines waits for the fake QEMU to have recorded n starts.
func waitLines(t *testing.T, p string, n int) {
	for i := 0; i < 600; i++ {
		if b, _ := os.ReadFile(p); strings.Count(string(b), "\n") >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: fewer than %d starts recorded", p, n)
}
