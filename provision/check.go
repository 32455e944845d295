package provision

import (
	"fmt"

	"github.com/rackboot/rackboot/inventory"
)

// Action is an operator action on a host, named as the API's
// /actions/{action} route names it; ReleaseWipe is release with a wipe.
type Action string

// The operator's actions.
const (
	Deploy      Action = "deploy"
	Release     Action = "release"
	ReleaseWipe Action = "release-wipe"
	Retry       Action = "retry"
	PowerOn     Action = "power-on"
	PowerOff    Action = "power-off"
	PowerCycle  Action = "power-cycle"
	PowerStatus Action = "power-status"
)

// Actions lists the actions Check knows, lifecycle first, then power.
var Actions = []Action{Deploy, Release, ReleaseWipe, Retry, PowerOn, PowerOff, PowerCycle, PowerStatus}

// Check reports whether action may be done to h as it is, and if not, why,
// in a sentence the operator can act on. The lifecycle's own operations
// make the same checks inside their transaction (Release, Retry,
// RequestDeploy), and the API refuses power on a host without a BMC with
// it; so the dashboard, which asks Check which buttons to offer, offers
// exactly what the API would accept. An image's own fitness for a deploy
// (it exists, it fits the host's memory) is checked by RequestDeploy.
func Check(h *inventory.Host, action Action) error {
	switch action {
	case Deploy:
		return checkDeploy(h)
	case Release, ReleaseWipe:
		return checkRelease(h)
	case Retry:
		return checkRetry(h)
	case PowerOn, PowerOff, PowerCycle, PowerStatus:
		if h.BMC == nil {
			return fmt.Errorf("host %s has no BMC: power actions need one (set its bmc through the API): %w", h.MAC, inventory.ErrConflict)
		}
		return nil
	}
	return fmt.Errorf("unknown action %q: %w", action, inventory.ErrInvalid)
}

func checkDeploy(h *inventory.Host) error {
	if h.State != inventory.StateReady {
		return fmt.Errorf("host %s is %s: deploy needs a ready host (release it first, or retry a failed one): %w", h.MAC, h.State, inventory.ErrConflict)
	}
	return nil
}

func checkRetry(h *inventory.Host) error {
	if h.State != inventory.StateFailed || h.Failure == nil {
		return fmt.Errorf("host %s is %s: retry applies only to failed hosts: %w", h.MAC, h.State, inventory.ErrConflict)
	}
	return nil
}

// checkRelease is the allow-list's rule for a move to ready, said for a
// release.
func checkRelease(h *inventory.Host) error {
	err := inventory.CheckTransition(h, inventory.StateReady)
	if err == nil {
		return nil
	}
	switch {
	case h.State == inventory.StateFailed && h.Failure != nil:
		return fmt.Errorf("host %s failed while %s: retry it instead: %w", h.MAC, h.Failure.From, err)
	case h.State.InProgress() || h.State == inventory.StateDiscovered:
		return fmt.Errorf("host %s is %s: release applies once it is ready, deployed or active (or has failed): %w", h.MAC, h.State, err)
	}
	return fmt.Errorf("host %s is %s: release is not possible from it: %w", h.MAC, h.State, err)
}
