package bmc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
	"github.com/rackboot/rackboot/inventory"
)

func fleetWithHost(t *testing.T, bmc *inventory.BMC) (*Fleet, *inventory.DB) {
	t.Helper()
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.CreateHost(context.Background(), inventory.Host{MAC: "52:54:00:00:00:01", BMC: bmc}, "test"); err != nil {
		t.Fatal(err)
	}
	return &Fleet{Store: store, Controller: New(fastConfig(t)), FaultAfter: 2, Logger: testLogger(t)}, store
}

func TestFleetPowersHostThroughItsBMC(t *testing.T) {
	m := &virtual.Simulated{}
	tgt, _ := virtualBMC(t, m)
	f, store := fleetWithHost(t, &inventory.BMC{Address: fmt.Sprintf("%s:%d", tgt.Address, tgt.Port), Protocol: "redfish", Username: "admin", Password: "secret"})
	ctx := ctxT(t, 10*time.Second)
	const mac = "52:54:00:00:00:01"

	h, err := f.Power(ctx, mac, OpOn, "test")
	if err != nil || !m.Powered() || h.BMC.PowerState != "on" {
		t.Fatalf("power-on: %+v, %v, powered=%v", h.BMC, err, m.Powered())
	}
	if h, err = f.Power(ctx, mac, OpOff, "test"); err != nil || m.Powered() || h.BMC.PowerState != "off" {
		t.Fatalf("power-off: %+v, %v", h.BMC, err)
	}
	if err := f.Netboot(ctx, mac, "test"); err != nil || !m.Powered() {
		t.Fatalf("netboot: %v, powered=%v", err, m.Powered())
	}
	if _, boot := m.Starts(); boot.Device != "Pxe" || boot.Continuous {
		t.Fatalf("netboot started the machine with boot %+v, want a PXE override", boot)
	}
	ev, _ := store.Events(ctx, mac, 0)
	var causes []string
	for _, e := range ev {
		if e.Type == "power" {
			causes = append(causes, e.Cause)
		}
	}
	if len(causes) != 3 || !strings.HasPrefix(causes[2], "power-on") || !strings.HasPrefix(causes[0], "netboot") {
		t.Fatalf("power events = %q", causes)
	}
}

func TestFleetPollAndFault(t *testing.T) {
	m := &virtual.Simulated{}
	tgt, _ := virtualBMC(t, m)
	f, store := fleetWithHost(t, &inventory.BMC{Address: fmt.Sprintf("%s:%d", tgt.Address, tgt.Port), Protocol: "redfish", Username: "admin", Password: "secret"})
	ctx := ctxT(t, 10*time.Second)
	const mac = "52:54:00:00:00:01"
	m.PowerOn(ctx, virtual.Boot{})
	f.pollOnce(ctx)
	h, _ := store.Host(ctx, mac)
	if h.BMC.PowerState != "on" {
		t.Fatalf("after poll: %+v", h.BMC)
	}
	// A poll that sees what is recorded writes nothing.
	f.pollOnce(ctx)
	if again, _ := store.Host(ctx, mac); again.Version != h.Version {
		t.Fatalf("an unchanged power state was written again: version %d → %d", h.Version, again.Version)
	}
	// The BMC's password changes under us: every poll fails, and after
	// FaultAfter polls the host carries a fault naming the cause.
	store.UpdateHost(ctx, mac, 0, func(h *inventory.Host) error { h.BMC.Password = "wrong"; return nil }, inventory.Event{Actor: "test"})
	f.pollOnce(ctx)
	if h, _ := store.Host(ctx, mac); h.BMC.Fault != "" {
		t.Fatalf("fault after one failure: %q", h.BMC.Fault)
	}
	f.pollOnce(ctx)
	h, _ = store.Host(ctx, mac)
	if !strings.Contains(h.BMC.Fault, "authentication") || h.BMC.PowerState != "unknown" {
		t.Fatalf("after two failures: %+v", h.BMC)
	}
	store.UpdateHost(ctx, mac, 0, func(h *inventory.Host) error { h.BMC.Password = "secret"; return nil }, inventory.Event{Actor: "test"})
	f.pollOnce(ctx)
	if h, _ := store.Host(ctx, mac); h.BMC.Fault != "" || h.BMC.PowerState != "on" {
		t.Fatalf("fault not cleared by a good poll: %+v", h.BMC)
	}
}

func TestFleetHostWithoutBMC(t *testing.T) {
	f, _ := fleetWithHost(t, nil)
	if _, err := f.Power(context.Background(), "52:54:00:00:00:01", OpOn, "test"); !errors.Is(err, ErrNoBMC) {
		t.Fatalf("err = %v, want ErrNoBMC", err)
	}
}

func TestSplitAddress(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5":              "10.0.0.5 0",
		"10.0.0.5:8443":         "10.0.0.5 8443",
		"http://127.0.0.1:9001": "http://127.0.0.1 9001",
		"https://bmc.example/":  "https://bmc.example 0",
		"[fe80::1]:623":         "fe80::1 623",
	} {
		a, p := splitAddress(in)
		if got := fmt.Sprint(a, " ", p); got != want {
			t.Errorf("splitAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFleetPollsOnlyItsShard: a host another appliance looks after is not
// polled here; once it is this appliance's, it is.
func TestFleetPollsOnlyItsShard(t *testing.T) {
	m := &virtual.Simulated{}
	tgt, _ := virtualBMC(t, m)
	f, store := fleetWithHost(t, &inventory.BMC{Address: fmt.Sprintf("%s:%d", tgt.Address, tgt.Port), Protocol: "redfish", Username: "admin", Password: "secret"})
	ctx := ctxT(t, 10*time.Second)
	const mac = "52:54:00:00:00:01"
	m.PowerOn(ctx, virtual.Boot{})
	mine := false
	f.Shard = func(context.Context) func(string) bool { return func(string) bool { return mine } }
	f.pollOnce(ctx)
	if h, _ := store.Host(ctx, mac); h.BMC.PowerState != "" {
		t.Fatalf("polled a host of another appliance: %+v", h.BMC)
	}
	mine = true
	f.pollOnce(ctx)
	if h, _ := store.Host(ctx, mac); h.BMC.PowerState != "on" {
		t.Fatalf("did not poll its own host: %+v", h.BMC)
	}
}
