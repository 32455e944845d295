package provision

import (
	"context"

	"github.com/rackboot/rackboot/inventory"
)

// Release returns a host to ready, in one transaction: with wipe, the
// installer is asked to quick-wipe every disk before anything else. Its
// agent token and deploy seed end (the installation they were for is let
// go). A deployed or active host's next boot of the installer may claim
// its credentials; a ready host's installer, which is up, keeps them and
// carries out the wipe. A host with a BMC is then netbooted by the caller
// (web, which arms that boot), since the BMC is not the lifecycle's
// business.
func (l *Lifecycle) Release(ctx context.Context, mac string, wipe bool, cause, actor string) (inventory.Host, error) {
	cause = withCause("release", cause)
	if wipe {
		cause += "; quick wipe of every disk requested"
	}
	now := l.now()
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if err := checkRelease(h); err != nil {
			return inventory.Edit{}, err
		}
		if wipe && h.Wipe == nil {
			h.Wipe = &inventory.WipeRequest{RequestedAt: now, Actor: actor}
		}
		h.Credentials.AgentGen++
		h.Deploy = nil
		if !installerState(h.State) {
			arm(h)
		}
		return inventory.Edit{To: inventory.StateReady, Cause: cause, Actor: actor}, nil
	})
}

// Retry returns a failed host to the state it left. A deploy tried again
// gets a new seed and agent token; the installer that is up keeps its boot
// token and picks the deploy up again.
func (l *Lifecycle) Retry(ctx context.Context, mac, cause, actor string) (inventory.Host, error) {
	cause = withCause("retry", cause)
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if err := checkRetry(h); err != nil {
			return inventory.Edit{}, err
		}
		if h.Failure.From == inventory.StateDeploying {
			newAgentGen(h)
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
