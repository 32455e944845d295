package provision

import (
	"context"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// Publish stores a value the host's agent exports, for other hosts'
// configs to read, and reports whether it changed anything. The Store
// checks its shape (inventory.PublishedValue.Validate).
func (l *Lifecycle) Publish(ctx context.Context, mac string, ex machineapi.Export) (bool, error) {
	_, changed, err := l.store.PublishValue(ctx, inventory.PublishedValue{MAC: mac, Key: ex.Key, Value: ex.Value}, "agent")
	return changed, err
}
