package inventory

import (
	"context"
	"errors"
	"testing"
)

// lifecycle is DESIGN.md's diagram written out independently of the
// allow-list in lifecycle.go, so a change to either is caught here.
var lifecycle = map[[2]State]bool{
	{StateDiscovered, StateInspecting}: true,
	{StateInspecting, StateReady}:      true,
	{StateInspecting, StateFailed}:     true,
	{StateReady, StateDeploying}:       true,
	{StateReady, StateReady}:           true, // release of a ready host (optional wipe)
	{StateReady, StateInspecting}:      true, // the installer re-inspects after a reboot
	{StateReady, StateFailed}:          true, // the quick wipe asked with release failed
	{StateDeploying, StateDeployed}:    true,
	{StateDeploying, StateFailed}:      true,
	{StateDeployed, StateActive}:       true,
	{StateDeployed, StateReady}:        true, // release
	{StateDeployed, StateFailed}:       true,
	{StateActive, StateReady}:          true, // release
	// retry: a failed host returns to the state it left (the test sets
	// Failure.From to the target; TestFailedReturnsOnlyToStateLeft checks
	// that no other state is allowed).
	{StateFailed, StateInspecting}: true,
	{StateFailed, StateReady}:      true, // a failed quick wipe, tried again
	{StateFailed, StateDeploying}:  true,
	{StateFailed, StateDeployed}:   true,
}

// TestEveryTransition drives every (from, to) pair through a real store and
// checks that exactly the transitions of the diagram succeed, and that a
// refused one changes nothing stored.
func TestEveryTransition(t *testing.T) { eachStore(t, testEveryTransition) }

func testEveryTransition(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	i := 0
	for _, from := range States {
		for _, to := range States {
			i++
			h := Host{MAC: mac(i), State: from}
			if from == StateFailed {
				h.Failure = &Failure{Cause: "test", From: to}
			}
			before, err := db.CreateHost(ctx, h, "test")
			if err != nil {
				t.Fatal(err)
			}
			want := lifecycle[[2]State{from, to}]
			_, err = db.Transition(ctx, h.MAC, to, "test", "test")
			if want && err != nil {
				t.Errorf("%s → %s refused: %v", from, to, err)
			}
			if !want {
				if !errors.Is(err, ErrTransition) {
					t.Errorf("%s → %s: err = %v, want ErrTransition", from, to, err)
				}
				after, _ := db.Host(ctx, h.MAC)
				ev, _ := db.Events(ctx, h.MAC, 0)
				if after.Version != before.Version || after.State != from || len(ev) != 1 {
					t.Errorf("%s → %s refused but the host changed: %+v, %d events", from, to, after, len(ev))
				}
			}
		}
	}
}

func TestFailedReturnsOnlyToStateLeft(t *testing.T) { eachStore(t, testFailedReturnsOnlyToStateLeft) }

func testFailedReturnsOnlyToStateLeft(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	db.CreateHost(ctx, Host{MAC: mac(1), State: StateDeploying}, "test")
	h, err := db.Transition(ctx, mac(1), StateFailed, "checksum mismatch", "installer")
	if err != nil || h.Failure.From != StateDeploying || h.Failure.Cause != "checksum mismatch" {
		t.Fatalf("fail: %+v, %v", h, err)
	}
	if _, err := db.Transition(ctx, mac(1), StateInspecting, "", "test"); !errors.Is(err, ErrTransition) {
		t.Fatalf("failed → inspecting after leaving deploying: err = %v", err)
	}
	h, err = db.Transition(ctx, mac(1), StateDeploying, "retry", "test")
	if err != nil || h.Failure != nil {
		t.Fatalf("retry: %+v, %v", h, err)
	}
	ev, _ := db.Events(ctx, mac(1), 0)
	if len(ev) != 3 || ev[0].From != StateFailed || ev[0].To != StateDeploying || ev[1].Cause != "checksum mismatch" {
		t.Fatalf("events = %+v", ev)
	}
}

func TestTransitionUnknownState(t *testing.T) { eachStore(t, testTransitionUnknownState) }

func testTransitionUnknownState(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	db.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	if _, err := db.Transition(ctx, mac(1), "bogus", "", "test"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}
