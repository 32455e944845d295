package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

func TestPublishValue(t *testing.T) { eachStore(t, testPublishValue) }

func testPublishValue(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	const mac = "52:54:00:00:00:01"
	if _, err := db.CreateHost(ctx, Host{MAC: mac}, "test"); err != nil {
		t.Fatal(err)
	}
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := db.Subscribe(sub)

	v, changed, err := db.PublishValue(ctx, PublishedValue{MAC: mac, Key: "wg-pubkey", Value: "9QXU0J4E7UiUkTYIK4nZ5dFr+mcbCUlcynR9g5UmYRk="}, "agent")
	if err != nil || !changed || v.UpdatedAt.IsZero() {
		t.Fatalf("publish = %+v, %v, %v", v, changed, err)
	}
	select {
	case c := <-feed:
		if c.Value == nil || c.Value.Key != "wg-pubkey" || c.Host.MAC != mac || c.Event.Type != EventPublished {
			t.Fatalf("feed: %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change on the feed")
	}
	rev := db.Revision()
	again, changed, err := db.PublishValue(ctx, PublishedValue{MAC: mac, Key: "wg-pubkey", Value: v.Value}, "agent")
	if err != nil || changed || !again.UpdatedAt.Equal(v.UpdatedAt) {
		t.Fatalf("publishing the same value again = %+v, changed %v, %v; want the stored one", again, changed, err)
	}
	if db.Revision() != rev {
		t.Fatalf("revision %d → %d: publishing the stored value wrote", rev, db.Revision())
	}
	db.PublishValue(ctx, PublishedValue{MAC: mac, Key: "a", Value: "x"}, "agent")
	all, err := db.PublishedValues(ctx, mac)
	if err != nil || len(all) != 2 || all[0].Key != "a" || all[1].Key != "wg-pubkey" {
		t.Fatalf("values = %+v, %v", all, err)
	}
	// Another host's values: every host's come ordered by MAC, then key.
	const other = "52:54:00:00:00:00"
	if _, err := db.CreateHost(ctx, Host{MAC: other}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PublishValue(ctx, PublishedValue{MAC: other, Key: "z", Value: "first"}, "agent"); err != nil {
		t.Fatal(err)
	}
	if r, changed, err := db.PublishValue(ctx, PublishedValue{MAC: other, Key: "z", Value: "second"}, "agent"); err != nil || !changed || r.Value != "second" {
		t.Fatalf("replacing a value = %+v, %v, %v", r, changed, err)
	}
	all, err = db.PublishedValues(ctx, "")
	if err != nil || len(all) != 3 || all[0].MAC != other || all[0].Value != "second" || all[1].Key != "a" || all[2].Key != "wg-pubkey" {
		t.Fatalf("every host's values = %+v, %v", all, err)
	}
	ev, _ := db.Events(ctx, mac, 1)
	if ev[0].Type != EventPublished || ev[0].Cause != "a = x" || ev[0].Actor != "agent" {
		t.Fatalf("event %+v", ev[0])
	}
	h, _ := db.Host(ctx, mac)
	if err := db.DeleteHost(ctx, mac, "test"); err != nil {
		t.Fatal(err)
	}
	if all, _ := db.PublishedValues(ctx, mac); len(all) != 0 {
		t.Fatalf("values after the host was deleted: %+v", all)
	}
	if all, _ := db.PublishedValues(ctx, ""); len(all) != 1 || all[0].MAC != other {
		t.Fatalf("values after one host was deleted: %+v, want the other host's", all)
	}
	// A host created again under the MAC starts with none.
	db.CreateHost(ctx, Host{MAC: mac}, "test")
	if all, _ := db.PublishedValues(ctx, mac); len(all) != 0 || h.MAC != mac {
		t.Fatalf("values of the re-created host: %+v", all)
	}
}

func TestPublishValueRefusals(t *testing.T) { eachStore(t, testPublishValueRefusals) }

func testPublishValueRefusals(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	const mac = "52:54:00:00:00:01"
	db.CreateHost(ctx, Host{MAC: mac}, "test")
	for name, v := range map[string]PublishedValue{
		"empty key":      {Key: "", Value: "x"},
		"key with space": {Key: "a b", Value: "x"},
		"key with slash": {Key: "a/b", Value: "x"},
		"empty value":    {Key: "k", Value: ""},
		"line break":     {Key: "k", Value: "a\n- kind: exec"},
		"tab":            {Key: "k", Value: "a\tb"},
		"not utf-8":      {Key: "k", Value: "a\xffb"},
		"too long":       {Key: "k", Value: strings.Repeat("x", machineapi.MaxExportValueBytes+1)},
	} {
		v.MAC = mac
		if _, _, err := db.PublishValue(ctx, v, "agent"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, _, err := db.PublishValue(ctx, PublishedValue{MAC: "52:54:00:00:00:02", Key: "k", Value: "x"}, "agent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown host: %v, want ErrNotFound", err)
	}
	for i := range machineapi.MaxExportsPerHost {
		if _, _, err := db.PublishValue(ctx, PublishedValue{MAC: mac, Key: fmt.Sprint("k", i), Value: "x"}, "agent"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.PublishValue(ctx, PublishedValue{MAC: mac, Key: "one-more", Value: "x"}, "agent"); !errors.Is(err, ErrInvalid) {
		t.Errorf("key %d: %v, want ErrInvalid", machineapi.MaxExportsPerHost+1, err)
	}
	if _, changed, err := db.PublishValue(ctx, PublishedValue{MAC: mac, Key: "k0", Value: "y"}, "agent"); err != nil || !changed {
		t.Errorf("replacing a value at the limit: %v %v", changed, err)
	}
	if all, _ := db.PublishedValues(ctx, mac); len(all) != machineapi.MaxExportsPerHost {
		t.Errorf("%d values stored, want %d", len(all), machineapi.MaxExportsPerHost)
	}
}
