package fleetconfig

import (
	"context"
	"fmt"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// BenchmarkRenderRack renders the rack-hosts example for 600 hosts of a
// 1,000-host fleet: one round after a change every r1 render read.
func BenchmarkRenderRack(b *testing.B) {
	db, err := inventory.Open(b.TempDir(), inventory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := range 1000 {
		rack := "r1"
		if i >= 600 {
			rack = "r2"
		}
		db.CreateHost(ctx, inventory.Host{MAC: fmt.Sprintf("52:54:00:00:%02x:%02x", i/256, i%256), Hostname: fmt.Sprintf("node%04d", i),
			IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), State: inventory.StateActive, Labels: map[string]string{"rack": rack}}, "test")
	}
	db.PutAgentConfig(ctx, inventory.AgentConfig{Name: "hosts", Selector: map[string]string{"rack": "r1"},
		Body: "- kind: file\n  name: /srv/{{.Host.Hostname}}/etc/hosts\n" + hostsConfig[len("- kind: file\n  name: /etc/hosts\n"):]}, 0, "test")
	r := newRenderer(db, 2)
	dirty, _, err := r.load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		for _, st := range r.hosts {
			st.good = nil // as if every render changed: each is parsed again
		}
		d := map[string]struct{}{}
		for mac := range dirty {
			d[mac] = struct{}{}
		}
		ups, err := r.renderAll(ctx, d)
		if err != nil || len(ups) != 1000 {
			b.Fatal(err, len(ups))
		}
	}
}
