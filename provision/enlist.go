package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// Errors of enlisting.
var (
	// ErrNoDiscovery refuses to enlist an unknown MAC while discovery is off.
	ErrNoDiscovery = fmt.Errorf("discovery is off: %w", inventory.ErrNotFound)
	// ErrDiscoveryLimit refuses to enlist an unknown MAC while discovery is
	// at its cap or its rate.
	ErrDiscoveryLimit = errors.New("discovery limit reached")
)

// Enroll stores a host an operator adds. Its first boot may claim its boot
// token.
func (l *Lifecycle) Enroll(ctx context.Context, h inventory.Host, actor string) (inventory.Host, error) {
	h.Credentials = inventory.Credentials{BootArmed: true}
	return l.store.CreateHost(ctx, h, actor)
}

// Enlist adds an unknown netbooting MAC to the inventory as discovered
// (DHCP calls it, off its packet path), within the discovery limits. A MAC
// already known is left as it is and reported with ErrExists. Its first
// boot may claim its boot token.
func (l *Lifecycle) Enlist(ctx context.Context, mac, actor string) (inventory.Host, error) {
	if err := l.mayDiscover(mac); err != nil {
		return inventory.Host{}, err
	}
	h := inventory.Host{MAC: mac, State: inventory.StateDiscovered, Credentials: inventory.Credentials{BootArmed: true}}
	return l.store.CreateHost(ctx, h, actor)
}

// Claim hands the boot token of a host's current boot to the installer
// that asks first, and records that the installer is up: a discovered or
// ready host moves to inspecting (a ready host that reboots into the
// installer is inspected again), an unknown MAC is enlisted straight into
// inspecting, claimed, when discovery allows. Everything happens in one
// transaction. A boot whose token was claimed already is refused
// (ErrClaimed) unless the same installer asks again (its nonce), and the
// refusal is logged on the host; a new boot must be armed first (release,
// or a power action through rackboot). from is the claimant's address.
func (l *Lifecycle) Claim(ctx context.Context, mac string, c machineapi.Claim, from string) (inventory.Host, string, error) {
	nonce, err := nonceHash(c.Nonce)
	if err != nil {
		return inventory.Host{}, "", err
	}
	cause := "the installer booted and claimed its credentials"
	if c.Mode != "" {
		cause = "the installer booted (" + c.Mode + ") and claimed its credentials"
	}
	h, err := l.claim(ctx, mac, nonce, cause, from)
	if errors.Is(err, inventory.ErrNotFound) {
		h, err = l.claimUnknown(ctx, mac, nonce, cause, from)
	}
	if err != nil {
		return h, "", err
	}
	return h, l.tokens.mintBoot(&h), nil
}

// claim is Claim of a known host.
func (l *Lifecycle) claim(ctx context.Context, mac, nonce, cause, from string) (inventory.Host, error) {
	now := l.now()
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		cr := &h.Credentials
		if !installerState(h.State) {
			return inventory.Edit{}, fmt.Errorf("host %s is %s: it boots its own disk, not the installer; release it to install it again: %w", mac, h.State, ErrClaimed)
		}
		switch {
		case cr.BootArmed:
			cr.BootArmed, cr.BootClaimedAt, cr.BootClaimedFrom, cr.BootNonce = false, now, from, nonce
		case cr.BootNonce == nonce && !cr.BootClaimedAt.IsZero():
			return inventory.Edit{}, nil // the same installer asks again: the same answer
		default:
			return inventory.Edit{}, claimedError(h)
		}
		ed := inventory.Edit{Type: "claimed", Cause: cause + " from " + from, Actor: "installer"}
		if h.State == inventory.StateDiscovered || h.State == inventory.StateReady {
			ed.To = inventory.StateInspecting
		}
		return ed, nil
	})
	if errors.Is(err, ErrClaimed) {
		l.refused(ctx, mac, err, from)
	}
	return h, err
}

// claimUnknown enlists an unknown MAC whose installer claims: inspecting,
// claimed, in its creation.
func (l *Lifecycle) claimUnknown(ctx context.Context, mac, nonce, cause, from string) (inventory.Host, error) {
	if err := l.mayDiscover(mac); err != nil {
		return inventory.Host{}, err
	}
	cr := inventory.Credentials{BootClaimedAt: l.now(), BootClaimedFrom: from, BootNonce: nonce}
	h, err := l.store.CreateHost(ctx, inventory.Host{MAC: mac, State: inventory.StateInspecting, Credentials: cr}, "installer: "+cause)
	if errors.Is(err, inventory.ErrExists) { // enlisted meanwhile (by DHCP): claim it as known
		return l.claim(ctx, mac, nonce, cause, from)
	}
	return h, err
}

// installerState: a host in it may boot the installer.
func installerState(s inventory.State) bool {
	return s != inventory.StateDeployed && s != inventory.StateActive
}

// Inspected stores the facts the installer found and moves the host from
// inspecting to ready, in one transaction. The appliance stamps the time
// itself; the host's UUID and serial are filled from the facts where the
// operator left them empty.
func (l *Lifecycle) Inspected(ctx context.Context, mac string, facts machineapi.Facts) (inventory.Host, error) {
	if err := facts.Validate(); err != nil {
		return inventory.Host{}, fmt.Errorf("facts: %v: %w", err, inventory.ErrInvalid)
	}
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
