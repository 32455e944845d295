package resources

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// fakeRunner answers commands from a table and records them.
type fakeRunner struct {
	calls []string
	reply func(cmd string) ([]byte, error)
}

func (f *fakeRunner) Run(_ context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := strings.TrimSpace(strings.Join(env, " ") + " " + name + " " + strings.Join(args, " "))
	f.calls = append(f.calls, cmd)
	return f.reply(cmd)
}

func TestPkgAptWithFakeRunner(t *testing.T) {
	installed := false
	run := &fakeRunner{reply: func(cmd string) ([]byte, error) {
		switch {
		case strings.Contains(cmd, "dpkg-query") && installed:
			return []byte("ii "), nil
		case strings.Contains(cmd, "dpkg-query"):
			return nil, fakeExit(1)
		case strings.Contains(cmd, "apt-get install"):
			installed = true
		case strings.Contains(cmd, "apt-get remove"):
			installed = false
		}
		return nil, nil
	}}
	p := &Pkg{Named: Named{"nginx"}, Manager: "apt", Run: run}
	converge(t, p)
	if want := "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx"; !contains(run.calls, want) {
		t.Fatalf("calls = %q, want %q", run.calls, want)
	}
	converge(t, &Pkg{Named: Named{"nginx"}, State: PkgAbsent, Manager: "apt", Run: run})
}

func TestPkgErrorsAndDetection(t *testing.T) {
	broken := &fakeRunner{reply: func(string) ([]byte, error) { return nil, errors.New("cannot start") }}
	if _, err := (&Pkg{Named: Named{"x"}, Manager: "dnf", Run: broken}).CheckApply(t.Context(), true); err == nil {
		t.Fatal("a runner that cannot start was taken as 'not installed'")
	}
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	if _, err := (&Pkg{Named: Named{"x"}, LookPath: none}).CheckApply(t.Context(), true); err == nil || !strings.Contains(err.Error(), "manager") {
		t.Fatalf("no manager: %v", err)
	}
	if err := (&Pkg{Named: Named{"x"}, Manager: "yum"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "manager:") {
		t.Fatalf("Validate = %v", err)
	}
}

// TestPkgRealDpkgReadOnly asks the real dpkg about packages without
// changing anything; installing for real is left to the VM tests.
func TestPkgRealDpkgReadOnly(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query: not a Debian host")
	}
	if !mustCheck(t, &Pkg{Named: Named{"bash"}}, false) {
		t.Fatal("bash not reported installed")
	}
	if !mustCheck(t, &Pkg{Named: Named{"rackboot-no-such-package"}, State: PkgAbsent}, false) {
		t.Fatal("unknown package not reported absent")
	}
	if mustCheck(t, &Pkg{Named: Named{"rackboot-no-such-package"}}, false) {
		t.Fatal("unknown package reported installed")
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
