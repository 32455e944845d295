package bmc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc/virtual"
	"github.com/rackboot/rackboot/inventory"
)

// ignoringBMC is a virtual Redfish BMC that answers a boot override PATCH
// with 204 and keeps the override it had.
func ignoringBMC(t *testing.T, m virtual.Machine) Target {
	s, err := virtual.New(virtual.Config{Username: "admin", Password: "secret", Machine: m, Logger: testLogger(t), IgnoreBootOverride: true})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, s)
}

// TestRedfishBootOverrideReadBack: the override is read back; a BMC that
// accepted it and did not apply it is an error naming what it reports,
// and one that applied it is not.
func TestRedfishBootOverrideReadBack(t *testing.T) {
	noLeaks(t)
	ctl := New(fastConfig(t))
	ctx := ctxT(t, 10*time.Second)
	good, _ := virtualBMC(t, &virtual.Simulated{})
	if err := ctl.SetBootDevice(ctx, good, BootPXE, false); err != nil {
		t.Fatalf("a BMC that applies the override: %v", err)
	}
	if err := ctl.SetBootDevice(ctx, good, BootDisk, true); err != nil {
		t.Fatalf("a persistent disk override: %v", err)
	}
	bad := ignoringBMC(t, &virtual.Simulated{})
	err := ctl.SetBootDevice(ctx, bad, BootPXE, false)
	var be *Error
	if !errors.Is(err, ErrNotApplied) || !errors.As(err, &be) || be.Op != "set boot device" ||
		!strings.Contains(err.Error(), "asked for pxe once, the BMC reports no override (none, disabled)") {
		t.Fatalf("err = %v, want ErrNotApplied naming what the BMC reports", err)
	}
}

// TestNetbootReportsIgnoredOverride: Netboot through a BMC that ignores
// the PXE override cycles the host anyway (the boot server decides) and
// returns the failure, which the host's events record.
func TestNetbootReportsIgnoredOverride(t *testing.T) {
	m := &virtual.Simulated{}
	tgt := ignoringBMC(t, m)
	f, store := fleetWithHost(t, &inventory.BMC{Address: fmt.Sprintf("%s:%d", tgt.Address, tgt.Port), Protocol: "redfish", Username: "admin", Password: "secret"})
	ctx := ctxT(t, 10*time.Second)
	const mac = "52:54:00:00:00:01"
	err := f.Netboot(ctx, mac, "test")
	if !errors.Is(err, ErrNotApplied) {
		t.Fatalf("netboot: %v, want ErrNotApplied", err)
	}
	if n, boot := m.Starts(); n != 1 || boot.Device != "" || !m.Powered() {
		t.Errorf("netboot: %d starts with boot %+v, powered %v; want one start in the machine's own order", n, boot, m.Powered())
	}
	ev, _ := store.Events(ctx, mac, 0)
	var causes []string
	for _, e := range ev {
		causes = append(causes, e.Cause)
	}
	all := strings.Join(causes, "\n")
	if !strings.Contains(all, "netboot: PXE override failed: ") || !strings.Contains(all, "boot override accepted but not applied") ||
		!strings.Contains(all, "netboot: power cycled without the PXE override") {
		t.Errorf("events:\n%s", all)
	}
}
