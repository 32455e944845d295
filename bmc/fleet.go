package bmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// FleetStore is what a Fleet needs of the inventory.
type FleetStore interface {
	Host(ctx context.Context, mac string) (inventory.Host, error)
	Hosts(ctx context.Context, q inventory.Query) (inventory.Page, error)
	BMCPassword(ctx context.Context, mac string) (string, error)
	ModifyHost(ctx context.Context, mac string, version uint64, fn func(*inventory.Host) (inventory.Edit, error)) (inventory.Host, error)
	AppendEvent(ctx context.Context, mac string, e inventory.Event) error
}

// ErrNoBMC is returned for a power operation on a host without a BMC.
var ErrNoBMC = errors.New("host has no BMC")

// The power operations a Fleet runs, named as the API's actions.
const (
	OpOn     = "power-on"
	OpOff    = "power-off"
	OpCycle  = "power-cycle"
	OpStatus = "power-status"
)

// Fleet runs power operations on inventory hosts through their BMCs, records
// each as an event, and keeps every host's power state and fault flag in
// the inventory by polling.
type Fleet struct {
	Store      FleetStore
	Controller *Controller
	// PollInterval is how often every BMC is asked for its power state
	// (default 30s).
	PollInterval time.Duration
	// FaultAfter is how many consecutive failures set the host's BMC fault
	// (default 3); a success clears it.
	FaultAfter int
	Logger     *slog.Logger // silent when nil
	// Shard, when set, is asked at the start of each poll round which
	// hosts this appliance polls (several appliances sharing an inventory
	// poll each BMC once between them); nil polls every host. Power
	// actions asked through the API run wherever they are asked.
	Shard func(ctx context.Context) func(mac string) bool

	mu       sync.Mutex
	failures map[string]int
}

// target builds the Target for a host's BMC, with its unsealed password.
func (f *Fleet) target(ctx context.Context, h *inventory.Host) (Target, error) {
	if h.BMC == nil {
		return Target{}, fmt.Errorf("host %s: %w", h.MAC, ErrNoBMC)
	}
	pw, err := f.Store.BMCPassword(ctx, h.MAC)
	if err != nil {
		return Target{}, fmt.Errorf("host %s: %w", h.MAC, err)
	}
	t := Target{Protocol: Protocol(h.BMC.Protocol), Username: h.BMC.Username, Password: pw,
		UEFI: h.Facts != nil && h.Facts.Firmware == "uefi"}
	t.Address, t.Port = splitAddress(h.BMC.Address)
	return t, nil
}

// splitAddress takes a BMC address as operators write it ("10.0.0.5",
// "10.0.0.5:8443", "http://127.0.0.1:9001") apart into Address and Port.
func splitAddress(a string) (string, int) {
	scheme := ""
	if i := strings.Index(a, "://"); i >= 0 {
		scheme, a = a[:i+3], a[i+3:]
	}
	a = strings.TrimSuffix(a, "/")
	host, p, err := net.SplitHostPort(a)
	if err != nil {
		return scheme + a, 0
	}
	port, _ := strconv.Atoi(p)
	return scheme + host, port
}

// Power runs op (OpOn, OpOff, OpCycle or OpStatus) on the host's BMC and
// records the outcome: the power state on success, an event either way.
func (f *Fleet) Power(ctx context.Context, mac, op, actor string) (inventory.Host, error) {
	h, err := f.Store.Host(ctx, mac)
	if err != nil {
		return h, err
	}
	t, err := f.target(ctx, &h)
	if err != nil {
		return h, err
	}
	state, err := f.run(ctx, t, op)
	if err != nil {
		f.noteFailure(ctx, mac, err)
		f.Store.AppendEvent(ctx, mac, inventory.Event{Type: "power", Cause: op + " failed: " + err.Error(), Actor: actor})
		return h, err
	}
	return f.record(ctx, mac, state, op+": "+string(state), actor)
}

func (f *Fleet) run(ctx context.Context, t Target, op string) (PowerState, error) {
	var err error
	switch op {
	case OpOn:
		err = f.Controller.PowerOn(ctx, t)
		return PowerOn, err
	case OpOff:
		err = f.Controller.PowerOff(ctx, t)
		return PowerOff, err
	case OpCycle:
		err = f.Controller.Cycle(ctx, t)
		return PowerOn, err
	case OpStatus:
		return f.Controller.Status(ctx, t)
	}
	return PowerUnknown, fmt.Errorf("unknown power operation %q", op)
}

// Netboot makes the host boot from the network once and power-cycles it
// (or powers it on when it is off), so deploy and release reach the
// installer without anyone at the console. A BMC that takes the PXE
// override and does not apply it (read back, ErrNotApplied) is recorded
// as a failure in the host's events and returned as an error, after the
// host is cycled anyway: a machine that boots the network first still
// reaches the installer, and the boot server decides what it boots.
func (f *Fleet) Netboot(ctx context.Context, mac, actor string) error {
	h, err := f.Store.Host(ctx, mac)
	if err != nil {
		return err
	}
	t, err := f.target(ctx, &h)
	if err != nil {
		return err
	}
	override := f.Controller.SetBootDevice(ctx, t, BootPXE, false)
	if override != nil {
		f.log().Warn("bmc: PXE boot override failed; cycling anyway, the boot server decides", "mac", mac, "err", override)
		f.Store.AppendEvent(ctx, mac, inventory.Event{Type: "power", Cause: "netboot: PXE override failed: " + override.Error(), Actor: actor})
	}
	if err := f.Controller.Cycle(ctx, t); err != nil {
		f.noteFailure(ctx, mac, err)
		f.Store.AppendEvent(ctx, mac, inventory.Event{Type: "power", Cause: "netboot failed: " + err.Error(), Actor: actor})
		return err
	}
	if override != nil {
		_, err = f.record(ctx, mac, PowerOn, "netboot: power cycled without the PXE override", actor)
		return errors.Join(fmt.Errorf("netboot %s: %w", mac, override), err)
	}
	_, err = f.record(ctx, mac, PowerOn, "netboot: PXE once (read back), power cycled", actor)
	return err
}

func (f *Fleet) log() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// record stores a confirmed power state, clears the fault, and logs cause.
func (f *Fleet) record(ctx context.Context, mac string, state PowerState, cause, actor string) (inventory.Host, error) {
	f.clearFailures(mac)
	return f.Store.ModifyHost(ctx, mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
		if h.BMC != nil {
			h.BMC.PowerState, h.BMC.Fault = string(state), ""
		}
		return inventory.Edit{Type: "power", Cause: cause, Actor: actor}, nil
	})
}

// clearFailures forgets mac's failures in a row after a BMC answered.
func (f *Fleet) clearFailures(mac string) {
	f.mu.Lock()
	delete(f.failures, mac)
	f.mu.Unlock()
}

// noteFailure counts a failure and sets the BMC fault once there were
// FaultAfter in a row.
func (f *Fleet) noteFailure(ctx context.Context, mac string, cause error) {
	f.mu.Lock()
	if f.failures == nil {
		f.failures = map[string]int{}
	}
	f.failures[mac]++
	n := f.failures[mac]
	f.mu.Unlock()
	threshold := f.FaultAfter
	if threshold <= 0 {
		threshold = 3
	}
	if n < threshold {
		return
	}
	f.Store.ModifyHost(ctx, mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
		if h.BMC != nil {
			h.BMC.PowerState, h.BMC.Fault = string(PowerUnknown), cause.Error()
		}
		return inventory.Edit{Type: "bmc-fault", Cause: fmt.Sprintf("%d failures in a row: %v", n, cause), Actor: "rackboot"}, nil
	})
}
