package dashboard

import "github.com/rackboot/rackboot/inventory"

// NewHostileStore lets the browser test (package dashboard_test, which
// imports web and so cannot live in this package) use hostileStore.
func NewHostileStore(s inventory.Store, mac, hostname string) inventory.Store {
	return hostileStore{s, mac, hostname}
}

// Payload is the markup the escaping tests plant in host text.
const Payload = payload
