package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// ErrNoDiscovery refuses to enlist an unknown MAC while discovery is off.
var ErrNoDiscovery = fmt.Errorf("discovery is off: %w", inventory.ErrNotFound)

// Enlist adds an unknown netbooting MAC to the inventory as discovered
// (DHCP calls it, off its packet path). A MAC already known is left as it
// is and reported with ErrExists.
func (l *Lifecycle) Enlist(ctx context.Context, mac, actor string) (inventory.Host, error) {
	if l.cfg.Boot.NoDiscovery {
		return inventory.Host{}, fmt.Errorf("host %s: %w", mac, ErrNoDiscovery)
	}
	return l.store.CreateHost(ctx, inventory.Host{MAC: mac, State: inventory.StateDiscovered}, actor)
}

// Booted records that the installer is up on a host: a discovered or
// ready host moves to inspecting (a ready host that reboots into the
// installer is inspected again), an unknown MAC is enlisted straight into
// inspecting when discovery is on. A host in any other state (deploying,
// for one: the installer was booted to deploy it) is left as it is.
func (l *Lifecycle) Booted(ctx context.Context, mac string, b machineapi.Booted) (inventory.Host, error) {
	cause := "the installer booted"
	if b.Mode != "" {
		cause += " (" + b.Mode + ")"
	}
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != inventory.StateDiscovered && h.State != inventory.StateReady {
			return inventory.Edit{}, nil
		}
		return inventory.Edit{To: inventory.StateInspecting, Cause: cause, Actor: "installer"}, nil
	})
	if !errors.Is(err, inventory.ErrNotFound) {
		return h, err
	}
	if l.cfg.Boot.NoDiscovery {
		return inventory.Host{}, fmt.Errorf("host %s is not enrolled: %w", mac, ErrNoDiscovery)
	}
	h, err = l.store.CreateHost(ctx, inventory.Host{MAC: mac, State: inventory.StateInspecting}, "installer")
	if errors.Is(err, inventory.ErrExists) { // enlisted meanwhile (by DHCP): judge it again
		return l.Booted(ctx, mac, b)
	}
	return h, err
}

// Inspected stores the facts the installer found and moves the host from
// inspecting to ready, in one transaction. The appliance stamps the time
// itself; the host's UUID and serial are filled from the facts where the
// operator left them empty.
func (l *Lifecycle) Inspected(ctx context.Context, mac string, facts machineapi.Facts) (inventory.Host, error) {
	facts.InspectedAt = l.now()
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != inventory.StateInspecting {
			return inventory.Edit{}, fmt.Errorf("host %s is %s, not inspecting: report ignored: %w", mac, h.State, inventory.ErrConflict)
		}
		f := facts
		f.Disks = append([]machineapi.Disk(nil), facts.Disks...)
		f.NICs = append([]machineapi.NIC(nil), facts.NICs...)
		h.Facts = &f
		h.UUID = cmp.Or(h.UUID, facts.UUID)
		h.Serial = cmp.Or(h.Serial, facts.Serial)
		return inventory.Edit{To: inventory.StateReady, Cause: "inspected: " + factSummary(&facts), Actor: "installer"}, nil
	})
}

func factSummary(f *machineapi.Facts) string {
	return fmt.Sprintf("%s %s, %d CPUs, %d MiB, %d disks, %s", f.Vendor, f.Product, f.CPUs, f.MemoryBytes>>20, len(f.Disks), f.Firmware)
}
