package bmc

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
)

// fastConfig keeps tests quick: tiny gaps, short timeouts.
func fastConfig(t *testing.T) Config {
	return Config{
		MinGap:          time.Millisecond,
		ConfirmInterval: 5 * time.Millisecond,
		Timeout:         5 * time.Second,
		Backoff:         []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
		MaxAttempts:     3,
		Logger:          testLogger(t),
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serve runs h on a loopback httptest server and returns a Target for it.
func serve(t *testing.T, h http.Handler) Target {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return targetFor(t, srv.URL)
}

func targetFor(t *testing.T, rawURL string) Target {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return Target{Address: u.Scheme + "://" + u.Hostname(), Port: port, Protocol: Redfish,
		Username: "admin", Password: "secret"}
}

// virtualBMC starts a virtual BMC in front of m.
func virtualBMC(t *testing.T, m virtual.Machine) (Target, *virtual.Server) {
	t.Helper()
	s, err := virtual.New(virtual.Config{Username: "admin", Password: "secret", Machine: m, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, s), s
}

// counting counts requests to h.
type counting struct {
	h http.Handler
	n atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// noLeaks fails the test if goroutines started during it are still running
// once its cleanups (servers, VMs) have run. Register it first.
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

// needBinary skips in -short mode and fails when a lab binary is missing:
// CI installs them, so absence there is a broken setup, not a skip.
func needBinary(t *testing.T, names ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs " + strings.Join(names, ", ") + "; skipped with -short")
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s not installed (apt-get install qemu-system-x86 openipmi ipmitool): %v", n, err)
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
