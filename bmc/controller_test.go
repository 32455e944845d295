package bmc

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
)

func TestRedfishPowerAgainstVirtualBMC(t *testing.T) {
	noLeaks(t)
	m := &virtual.Simulated{}
	target, bmc := virtualBMC(t, m)
	ctl := New(fastConfig(t))
	ctx := ctxT(t, 10*time.Second)

	mustState := func(want PowerState) {
		t.Helper()
		st, err := ctl.Status(ctx, target)
		if err != nil || st != want {
			t.Fatalf("Status = %q, %v; want %q", st, err, want)
		}
	}
	mustState(PowerOff)
	if err := ctl.PowerOn(ctx, target); err != nil {
		t.Fatal(err)
	}
	mustState(PowerOn)
	if err := ctl.SetBootDevice(ctx, target, BootPXE, false); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Cycle(ctx, target); err != nil {
		t.Fatal(err)
	}
	if n, boot := m.Starts(); n != 2 || boot.Device != "Pxe" || boot.Continuous {
		t.Errorf("after cycle: starts=%d boot=%+v; want 2 starts, once from Pxe", n, boot)
	}
	if err := ctl.PowerOff(ctx, target); err != nil {
		t.Fatal(err)
	}
	mustState(PowerOff)
	if n := bmc.Sessions(); n != 0 {
		t.Errorf("%d Redfish sessions left open on the BMC", n)
	}
}

func TestRedfishOverTLS(t *testing.T) {
	noLeaks(t)
	s, err := virtual.New(virtual.Config{Username: "admin", Password: "secret", Machine: &virtual.Simulated{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s)
	defer srv.Close()
	target := targetFor(t, srv.URL)
	target.Address = "127.0.0.1" // no scheme: https, the default
	if err := New(fastConfig(t)).PowerOn(ctxT(t, 5*time.Second), target); err != nil {
		t.Fatal(err)
	}
}

func TestCycleWaitsForConfirmedOff(t *testing.T) {
	noLeaks(t)
	m := &slowOff{Simulated: &virtual.Simulated{}, offAfter: 100 * time.Millisecond}
	target, _ := virtualBMC(t, m)
	ctl := New(fastConfig(t))
	ctx := ctxT(t, 10*time.Second)
	if err := ctl.PowerOn(ctx, target); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Cycle(ctx, target); err != nil {
		t.Fatal(err)
	}
	// Had the power-on gone out while the BMC still said on, the BMC would
	// have ignored it and the machine would be off now.
	if n, _ := m.Starts(); n != 2 || !m.Simulated.Powered() {
		t.Errorf("starts = %d, on = %v; want 2 starts and on", n, m.Simulated.Powered())
	}
}

// slowOff reports on for a while after a power off, like a BMC whose
// state lags its commands.
type slowOff struct {
	*virtual.Simulated
	offAfter time.Duration
	mu       sync.Mutex
	offAt    time.Time
}

func (m *slowOff) Powered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.offAt.IsZero() && time.Now().Before(m.offAt) {
		return true
	}
	return m.Simulated.Powered()
}

func (m *slowOff) PowerOff(ctx context.Context) error {
	m.mu.Lock()
	m.offAt = time.Now().Add(m.offAfter)
	m.mu.Unlock()
	return m.Simulated.PowerOff(ctx)
}

func TestConcurrencyLimit(t *testing.T) {
	noLeaks(t)
	var inFlight, peak atomic.Int64
	targets := make([]Target, 6)
	for i := range targets {
		m := &gauge{Simulated: &virtual.Simulated{Delay: 50 * time.Millisecond}, inFlight: &inFlight, peak: &peak}
		targets[i], _ = virtualBMC(t, m)
	}
	cfg := fastConfig(t)
	cfg.MaxSessions = 2
	ctl := New(cfg)
	for _, err := range ctl.Each(ctxT(t, 10*time.Second), targets, ctl.Cycle) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak concurrent power-ons = %d, want 1..2 with MaxSessions=2", p)
	}
}

// gauge measures how many machines are powering on at once.
type gauge struct {
	*virtual.Simulated
	inFlight, peak *atomic.Int64
}

func (g *gauge) PowerOn(ctx context.Context, b virtual.Boot) error {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return g.Simulated.PowerOn(ctx, b)
}

func TestMinGapBetweenCommands(t *testing.T) {
	noLeaks(t)
	target, _ := virtualBMC(t, &virtual.Simulated{})
	cfg := fastConfig(t)
	cfg.MinGap = 150 * time.Millisecond
	ctl := New(cfg)
	ctx := ctxT(t, 5*time.Second)
	if _, err := ctl.Status(ctx, target); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := ctl.Status(ctx, target); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("second command to the same BMC after %v, want >= MinGap", d)
	}
}

func TestUnknownProtocolAndDevice(t *testing.T) {
	ctl := New(fastConfig(t))
	ctx := ctxT(t, 5*time.Second)
	_, err := ctl.Status(ctx, Target{Address: "127.0.0.1", Protocol: "snmp"})
	var e *Error
	if !errors.As(err, &e) || e.BMC != "127.0.0.1:443" {
		t.Errorf("err = %v, want *Error naming 127.0.0.1:443", err)
	}
	err = ctl.SetBootDevice(ctx, Target{Address: "127.0.0.1", Protocol: Redfish}, "floppy", false)
	if !errors.Is(err, ErrRejected) {
		t.Errorf("err = %v, want ErrRejected", err)
	}
}

func TestParsePowerState(t *testing.T) {
	for in, want := range map[string]PowerState{
		"On": PowerOn, "Off": PowerOff, "PoweringOn": PowerUnknown, "PoweringOff": PowerUnknown,
		"Chassis Power is on\n": PowerOn, "Chassis Power is off": PowerOff, "": PowerUnknown,
	} {
		if got := parsePowerState(in); got != want {
			t.Errorf("parsePowerState(%q) = %q, want %q", in, got, want)
		}
	}
}
