package provision

import (
	"context"
	"errors"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// TestCheckAgreesWithTheOperations: for a host in every state, Check says
// an action is possible exactly when the operation then succeeds; so the
// dashboard, which asks Check, offers no button the API would refuse and
// hides none it would accept.
func TestCheckAgreesWithTheOperations(t *testing.T) {
	type hostCase struct {
		name string
		h    inventory.Host
	}
	var cases []hostCase
	for _, s := range inventory.States {
		h := inventory.Host{State: s, Facts: &machineapi.Facts{MemoryBytes: 8 << 30}}
		if s == inventory.StateFailed {
			for _, from := range []inventory.State{inventory.StateReady, inventory.StateDeploying, inventory.StateInspecting} {
				fh := h
				fh.Failure = &inventory.Failure{From: from, Cause: "test"}
				cases = append(cases, hostCase{"failed from " + string(from), fh})
			}
			continue
		}
		cases = append(cases, hostCase{string(s), h})
	}
	ops := map[Action]func(l *Lifecycle, mac string) error{
		Deploy: func(l *Lifecycle, mac string) error {
			_, err := l.RequestDeploy(context.Background(), mac, DeployRequest{Image: "debian"}, "test")
			return err
		},
		Release: func(l *Lifecycle, mac string) error {
			_, err := l.Release(context.Background(), mac, false, "", "test")
			return err
		},
		ReleaseWipe: func(l *Lifecycle, mac string) error {
			_, err := l.Release(context.Background(), mac, true, "", "test")
			return err
		},
		Retry: func(l *Lifecycle, mac string) error {
			_, err := l.Retry(context.Background(), mac, "", "test")
			return err
		},
	}
	for _, c := range cases {
		for action, op := range ops {
			f := newFixture(t)
			h := c.h
			h.MAC = mac(1)
			if _, err := f.store.CreateHost(context.Background(), h, "test"); err != nil {
				t.Fatalf("%s: create: %v", c.name, err)
			}
			stored := f.host(h.MAC)
			checked := Check(&stored, action)
			done := op(f.lc, h.MAC)
			if (checked == nil) != (done == nil) {
				t.Errorf("%s, %s: Check says %v, the operation %v", c.name, action, checked, done)
			}
			if checked != nil && !errors.Is(checked, inventory.ErrConflict) && !errors.Is(checked, inventory.ErrTransition) {
				t.Errorf("%s, %s: Check's error %v is neither a conflict nor a transition", c.name, action, checked)
			}
		}
	}
	for _, a := range []Action{PowerOn, PowerOff, PowerCycle, PowerStatus} {
		if err := Check(&inventory.Host{MAC: mac(1)}, a); !errors.Is(err, inventory.ErrConflict) {
			t.Errorf("%s without a BMC: %v", a, err)
		}
		if err := Check(&inventory.Host{MAC: mac(1), BMC: &inventory.BMC{Address: "10.0.0.5"}}, a); err != nil {
			t.Errorf("%s with a BMC: %v", a, err)
		}
	}
}
