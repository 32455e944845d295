package resources

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSystemd keeps one unit's state in memory and records calls.
type fakeSystemd struct {
	mu      sync.Mutex
	active  string
	file    string
	calls   []string
	changed chan struct{}
}

func (f *fakeSystemd) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeSystemd) set(active string) error {
	f.mu.Lock()
	f.active = active
	f.mu.Unlock()
	notify(f.changed)
	return nil
}

func (f *fakeSystemd) ActiveState(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, nil
}

func (f *fakeSystemd) UnitFileState(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.file, nil
}

func (f *fakeSystemd) Start(_ context.Context, u string) error {
	f.record("start " + u)
	return f.set("active")
}
func (f *fakeSystemd) Stop(_ context.Context, u string) error {
	f.record("stop " + u)
	return f.set("inactive")
}
func (f *fakeSystemd) Restart(_ context.Context, u string) error {
	f.record("restart " + u)
	return f.set("active")
}
func (f *fakeSystemd) TryRestart(_ context.Context, u string) error {
	f.record("try-restart " + u)
	return nil
}
func (f *fakeSystemd) Reload(_ context.Context, u string) error { f.record("reload " + u); return nil }

func (f *fakeSystemd) SetEnabled(_ context.Context, u string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.file = map[bool]string{true: "enabled", false: "disabled"}[on]
	f.calls = append(f.calls, "enable="+f.file+" "+u)
	return nil
}

func (f *fakeSystemd) Subscribe(ctx context.Context, _ string, ch chan<- struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.changed:
			notify(ch)
		}
	}
}

func (f *fakeSystemd) Close() {}

func (f *fakeSystemd) dial(context.Context) (Systemd, error) { return f, nil }

func (f *fakeSystemd) callList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "; ")
}

func TestSvcLogicWithFake(t *testing.T) {
	sd := &fakeSystemd{active: "inactive", file: "disabled", changed: make(chan struct{}, 1)}
	s := &Svc{Named: Named{"nginx"}, State: SvcRunning, Enabled: ptr(true), Dial: sd.dial}
	converge(t, s)
	if got, want := sd.callList(), "enable=enabled nginx.service; start nginx.service"; got != want {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	if err := s.Refresh(t.Context()); err != nil || !strings.HasSuffix(sd.callList(), "restart nginx.service") {
		t.Fatalf("refresh: %v, calls %q", err, sd.callList())
	}
	reload := &Svc{Named: Named{"nginx"}, OnRefresh: RefreshReload, Dial: sd.dial}
	if err := reload.Refresh(t.Context()); err != nil || !strings.HasSuffix(sd.callList(), "reload nginx.service") {
		t.Fatalf("reload refresh: %v, calls %q", err, sd.callList())
	}
	stopped := &Svc{Named: Named{"nginx"}, State: SvcStopped, Dial: sd.dial}
	converge(t, stopped)
	before := sd.callList()
	if err := stopped.Refresh(t.Context()); err != nil || sd.callList() != before {
		t.Fatal("refresh started a unit meant to be stopped")
	}
}

func TestSvcWatchRestoresStoppedUnit(t *testing.T) {
	sd := &fakeSystemd{active: "active", file: "enabled", changed: make(chan struct{}, 1)}
	runGraph(t, &Svc{Named: Named{"sshd"}, State: SvcRunning, Dial: sd.dial})
	running := func() bool { st, _ := sd.ActiveState(t.Context(), ""); return st == "active" }
	sd.set("failed") // the unit died: the D-Bus signal must bring the engine back
	within(t, time.Second, "restarted", running)
}

func TestSvcValidate(t *testing.T) {
	for field, s := range map[string]*Svc{
		"unit":       {Named: Named{"a/b"}},
		"state":      {Named: Named{"a"}, State: "up"},
		"on_refresh": {Named: Named{"a"}, OnRefresh: "kick"},
	} {
		if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Validate = %v, want error naming %s", err, field)
		}
	}
}

// TestSvcRealSystemd needs systemd as PID 1: it runs in the VM tests.
func TestSvcRealSystemd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		t.Skip("needs systemd as PID 1 (/run/systemd/system absent): run in the VM suite")
	}
	if os.Geteuid() != 0 {
		t.Skip("starting units needs root")
	}
	// A transient-free check: systemd-journald is always there and running.
	s := &Svc{Named: Named{"systemd-journald"}, State: SvcRunning}
	if !mustCheck(t, s, false) {
		t.Fatal("journald not reported running")
	}
}
