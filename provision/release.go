package provision

import (
	"context"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
)

// Release returns a host to ready, in one transaction: with wipe, the
// installer is asked to quick-wipe every disk before anything else. The
// host's agent token ends (the installation it was for is being let go).
// A host with a BMC is then netbooted by the caller (web), since the BMC
// is not the lifecycle's business.
func (l *Lifecycle) Release(ctx context.Context, mac string, wipe bool, cause, actor string) (inventory.Host, error) {
	cause = withCause("release", cause)
	if wipe {
		cause += "; quick wipe of every disk requested"
	}
	now := l.now()
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if wipe && h.Wipe == nil {
			h.Wipe = &inventory.WipeRequest{RequestedAt: now, Actor: actor}
		}
		if h.State == inventory.StateDeployed || h.State == inventory.StateActive {
			h.Credentials.AgentGen++
		}
		return inventory.Edit{To: inventory.StateReady, Cause: cause, Actor: actor}, nil
	})
}

// Retry returns a failed host to the state it left.
func (l *Lifecycle) Retry(ctx context.Context, mac, cause, actor string) (inventory.Host, error) {
	cause = withCause("retry", cause)
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if h.State != inventory.StateFailed || h.Failure == nil {
			return inventory.Edit{}, fmt.Errorf("host %s is %s: retry applies only to failed hosts: %w", mac, h.State, inventory.ErrConflict)
		}
		return inventory.Edit{To: h.Failure.From, Cause: cause, Actor: actor}, nil
	})
}

// withCause is "action" or "action: cause".
func withCause(action, cause string) string {
	if cause == "" {
		return action
	}
	return action + ": " + cause
}
