package inventory

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// TestEtcdValuesShared: a value published through one appliance is on the
// other's feed (with its event, as one Change) and in its reads; both
// appliances publishing new keys on one host at once store no more than
// the per-host cap; deleting the host through either drops its values.
func TestEtcdValuesShared(t *testing.T) {
	a, b, _, _ := twoAppliances(t, testCluster(t))
	ctx := t.Context()
	h, err := a.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	waitHost(t, b, h.MAC, h.Version)
	feed := b.Subscribe(ctx)
	v, _, err := a.PublishValue(ctx, PublishedValue{MAC: h.MAC, Key: "wg-pubkey", Value: "key-of-1"}, "agent")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-feed:
		if c.Value == nil || c.Value.Key != "wg-pubkey" || c.Value.Value != "key-of-1" || c.Host.MAC != h.MAC ||
			c.Event.Type != EventPublished || c.Event.Cause != "wg-pubkey = key-of-1" {
			t.Fatalf("b's feed: %+v (value %+v), want the publication with its event", c, c.Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's feed never carried a's publication")
	}
	if got, err := b.PublishedValues(ctx, h.MAC); err != nil || len(got) != 1 || got[0].Value != v.Value {
		t.Fatalf("b reads %+v, %v", got, err)
	}

	// Both appliances race to add more keys than the cap allows.
	var stored, refused atomic.Int32
	var wg sync.WaitGroup
	for i, s := range []*Etcd{a, b} {
		wg.Go(func() {
			for k := range machineapi.MaxExportsPerHost {
				_, _, err := s.PublishValue(ctx, PublishedValue{MAC: h.MAC, Key: fmt.Sprintf("k%d-%d", i, k), Value: "x"}, "agent")
				switch {
				case err == nil:
					stored.Add(1)
				case errors.Is(err, ErrInvalid):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if want := int32(machineapi.MaxExportsPerHost - 1); stored.Load() != want || refused.Load() != int32(machineapi.MaxExportsPerHost)+1 {
		t.Fatalf("%d stored, %d refused; want %d stored beside the first value, the rest refused", stored.Load(), refused.Load(), want)
	}
	all, _ := a.PublishedValues(ctx, h.MAC)
	if len(all) != machineapi.MaxExportsPerHost {
		t.Fatalf("%d values stored, want the cap %d", len(all), machineapi.MaxExportsPerHost)
	}
	if ev, _ := b.Events(ctx, h.MAC, 0); len(ev) != machineapi.MaxExportsPerHost+1 {
		t.Fatalf("%d events, want the creation and one per value stored", len(ev))
	}

	if err := b.DeleteHost(ctx, h.MAC, "test"); err != nil {
		t.Fatal(err)
	}
	if all, err := a.PublishedValues(ctx, ""); err != nil || len(all) != 0 {
		t.Fatalf("values after the host was deleted: %+v, %v", all, err)
	}
}
