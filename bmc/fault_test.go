package bmc

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
)

// closedPort returns a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// checkErr asserts err is an *Error naming target, wrapping sentinel, and
// saying cause.
func checkErr(t *testing.T, err error, target Target, sentinel error, cause string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	if e.BMC != target.String() || !strings.Contains(err.Error(), target.String()) {
		t.Errorf("error %q does not name the BMC %s", err, target)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q is not %v", err, sentinel)
	}
	if !strings.Contains(err.Error(), cause) {
		t.Errorf("error %q does not say %q", err, cause)
	}
}

func TestUnreachableBMC(t *testing.T) {
	noLeaks(t)
	target := Target{Address: "http://127.0.0.1", Port: closedPort(t), Protocol: Redfish, Username: "u", Password: "p"}
	start := time.Now()
	err := New(fastConfig(t)).PowerOn(ctxT(t, 10*time.Second), target)
	checkErr(t, err, target, ErrUnreachable, "connection refused")
	t.Log(err)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestWrongPasswordIsNotRetried(t *testing.T) {
	noLeaks(t)
	bmc, err := virtual.New(virtual.Config{Username: "admin", Password: "secret", Machine: &virtual.Simulated{}})
	if err != nil {
		t.Fatal(err)
	}
	c := &counting{h: bmc}
	target := serve(t, c)
	target.Password = "wrong"
	err = New(fastConfig(t)).PowerOn(ctxT(t, 10*time.Second), target)
	checkErr(t, err, target, ErrAuth, "401")
	t.Log(err)
	// One service root GET, one session POST: no second login attempt.
	if n := c.n.Load(); n != 2 {
		t.Errorf("%d requests to a BMC that refused the login, want 2", n)
	}
}

func TestSlowBMCTimesOut(t *testing.T) {
	noLeaks(t)
	target := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers long after the client gave up
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	cfg := fastConfig(t)
	cfg.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := New(cfg).Status(ctxT(t, 10*time.Second), target)
	checkErr(t, err, target, ErrTimeout, "login: Get")
	t.Log(err)
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout of 300ms took %v", d)
	}
}

func TestServerErrorsAreRetriedWithBackoff(t *testing.T) {
	noLeaks(t)
	c := &counting{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"bmc busy"}}`, http.StatusInternalServerError)
	})}
	target := serve(t, c)
	cfg := fastConfig(t)
	cfg.Backoff = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	start := time.Now()
	err := New(cfg).PowerOff(ctxT(t, 10*time.Second), target)
	d := time.Since(start)
	checkErr(t, err, target, ErrBMCFault, "500")
	t.Log(err)
	if n := c.n.Load(); n != int64(cfg.MaxAttempts) {
		t.Errorf("%d requests, want %d (one per attempt)", n, cfg.MaxAttempts)
	}
	if d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("took %v, want about 50+100ms of backoff", d)
	}
}

func TestSlowBMCDoesNotHoldUpAnother(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	fast, _ := virtualBMC(t, &virtual.Simulated{})
	cfg := fastConfig(t)
	cfg.Timeout = 3 * time.Second
	ctl := New(cfg)
	ctx := ctxT(t, 10*time.Second)

	slowDone := make(chan error, 1)
	go func() { _, err := ctl.Status(ctx, slow); slowDone <- err }()
	time.Sleep(50 * time.Millisecond) // the slow operation holds its session
	start := time.Now()
	if err := ctl.PowerOn(ctx, fast); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("fast BMC took %v while another BMC hung", d)
	}
	close(release)
	<-slowDone
}

func TestCallerCancelEndsWaitForSession(t *testing.T) {
	noLeaks(t)
	block := make(chan struct{})
	defer close(block)
	target := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	cfg := fastConfig(t)
	cfg.MaxSessions = 1
	ctl := New(cfg)
	go ctl.Status(ctxT(t, 500*time.Millisecond), target) // takes the only slot
	time.Sleep(50 * time.Millisecond)
	other := Target{Address: "http://127.0.0.1", Port: closedPort(t), Protocol: Redfish}
	_, err := ctl.Status(ctxT(t, 100*time.Millisecond), other)
	checkErr(t, err, other, ErrTimeout, "waiting for a session")
}
