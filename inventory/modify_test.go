package inventory

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/machineapi"
)

// TestModifyHost: one call is one transaction with one event; a state
// change is checked against the lifecycle; an edit may not set the state,
// the version or the UID itself; a quiet edit logs nothing; an edit that
// changes nothing stores nothing.
func TestModifyHost(t *testing.T) { eachStore(t, testModifyHost) }

func testModifyHost(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	h, _ := db.CreateHost(ctx, Host{MAC: mac(1), State: StateReady}, "test")
	if h.Credentials.UID == "" {
		t.Fatal("no UID on a created host")
	}
	events := func() int { ev, _ := db.Events(ctx, mac(1), 0); return len(ev) }

	rev := db.Revision()
	h, err := db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) {
		h.Image = "debian"
		return Edit{To: StateDeploying, Cause: "deploy debian", Actor: "op"}, nil
	})
	if err != nil || h.State != StateDeploying || h.Image != "debian" || db.Revision() != rev+1 || events() != 2 {
		t.Fatalf("fields and transition: %+v %v, %d transactions, %d events", h, err, db.Revision()-rev, events())
	}
	ev, _ := db.Events(ctx, mac(1), 1)
	if ev[0].Type != EventTransition || ev[0].From != StateReady || ev[0].To != StateDeploying || ev[0].Cause != "deploy debian" {
		t.Fatalf("event %+v", ev[0])
	}

	before, _ := db.Host(ctx, mac(1))
	for name, fn := range map[string]func(*Host) (Edit, error){
		"illegal transition": func(h *Host) (Edit, error) { return Edit{To: StateActive}, nil },
		"unknown state":      func(h *Host) (Edit, error) { return Edit{To: "exploded"}, nil },
		"state set directly": func(h *Host) (Edit, error) { h.State = StateDeployed; return Edit{}, nil },
		"uid set":            func(h *Host) (Edit, error) { h.Credentials.UID = "mine"; return Edit{}, nil },
		"version set":        func(h *Host) (Edit, error) { h.Version = 99; return Edit{}, nil },
		"invalid field":      func(h *Host) (Edit, error) { h.Hostname = "Not A Name"; return Edit{}, nil },
		"fn refuses":         func(h *Host) (Edit, error) { h.Image = "x"; return Edit{}, errors.New("no") },
	} {
		rev := db.Revision()
		if _, err := db.ModifyHost(ctx, mac(1), 0, fn); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if after, _ := db.Host(ctx, mac(1)); after.Version != before.Version || after.Image != before.Image || db.Revision() != rev || events() != 2 {
			t.Errorf("%s: refused but stored something", name)
		}
	}

	rev = db.Revision()
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) {
		h.Progress = &DeployProgress{Progress: machineapi.Progress{Written: 1, Total: 2}}
		return Edit{Quiet: true}, nil
	})
	if db.Revision() != rev+1 || events() != 2 {
		t.Errorf("quiet edit: %d transactions, %d events; want 1 and no new event", db.Revision()-rev, events())
	}
	rev = db.Revision()
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { return Edit{Cause: "nothing"}, nil })
	if db.Revision() != rev || events() != 2 {
		t.Error("an edit that changed nothing was stored")
	}
	// A transition to the same state is a transition (a ready host
	// released again), though no field changes.
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { return Edit{To: StateFailed, Cause: "x"}, nil })
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { return Edit{To: StateDeploying, Cause: "retry"}, nil })
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { return Edit{To: StateFailed, Cause: "y"}, nil })
	n := events()
	if h, err := db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { return Edit{To: StateDeploying}, nil }); err != nil || h.State != StateDeploying || events() != n+1 {
		t.Errorf("failed → deploying: %+v %v", h, err)
	}
}

// TestDeploySeedSealed: a deploy's seed is stored sealed (not in the
// file as text, not in the Host), comes back whole, and goes with the plan.
func TestDeploySeedSealed(t *testing.T) { eachStore(t, testDeploySeedSealed) }

func testDeploySeedSealed(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	db.CreateHost(ctx, Host{MAC: mac(1), State: StateReady}, "test")
	sd := machineapi.Seed{MetaData: "instance-id: i-1\n", UserData: "#cloud-config\nsecret-agent-token-xyzzy\n"}
	h, err := db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) {
		h.Deploy = &DeployPlan{Seed: &sd}
		return Edit{To: StateDeploying}, nil
	})
	if err != nil || h.Deploy.Seed != nil || !h.Deploy.HasSeed {
		t.Fatalf("host after the seed: %+v %v", h.Deploy, err)
	}
	got, err := db.DeploySeed(ctx, mac(1))
	if err != nil || got != sd {
		t.Fatalf("DeploySeed = %+v, %v", got, err)
	}
	// Other edits keep it; a new plan without one drops it.
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { h.Hostname = "node1"; return Edit{}, nil })
	if got, _ := db.DeploySeed(ctx, mac(1)); got != sd {
		t.Fatal("an unrelated edit lost the seed")
	}
	db.Close()
	if bytes.Contains(f.Raw(t), []byte("secret-agent-token-xyzzy")) {
		t.Fatal("the seed is in the store as text")
	}
	db = f.Open(t, Options{})
	if got, _ := db.DeploySeed(ctx, mac(1)); got != sd {
		t.Fatal("the seed did not survive a reopen")
	}
	db.ModifyHost(ctx, mac(1), 0, func(h *Host) (Edit, error) { h.Deploy = nil; return Edit{}, nil })
	if _, err := db.DeploySeed(ctx, mac(1)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no deploy seed") {
		t.Fatalf("seed after the plan went: %v", err)
	}
}
