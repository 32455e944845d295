package provision

import (
	"context"

	"github.com/rackboot/rackboot/inventory"
)

// Event types of a host's boot steps (package boottrace keeps them in
// memory until one of these writes them).
const (
	EventBoot      = "boot"       // a boot that reached the installer's claim
	EventBootSteps = "boot-steps" // a boot that did not reach it: a local boot, or a chain that broke
)

// LogBoot writes the steps of mac's boot, summarised in cause, to its
// event log as an event of type typ. It is called on paths that write
// anyway (the claim, the appliance's stalled-boot timer), never on a GET.
func (l *Lifecycle) LogBoot(ctx context.Context, mac, typ, cause string) error {
	return l.store.AppendEvent(ctx, mac, inventory.Event{Type: typ, Cause: cause, Actor: "rackboot"})
}
