package provision

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

func mac(i int) string { return fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8&0xff, i&0xff) }

// fakeImages is an image store of named records; the lifecycle only reads
// records.
type fakeImages map[string]images.Image

func (f fakeImages) Image(name string) (images.Image, error) {
	img, ok := f[name]
	if !ok {
		return images.Image{}, fmt.Errorf("image %q: %w", name, images.ErrNotFound)
	}
	return img, nil
}

type fixture struct {
	t     *testing.T
	store *inventory.DB
	lc    *Lifecycle
	now   time.Time
	imgs  fakeImages
}

// testKey is an SSH public key (its private half discarded).
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 op@desk"

func newFixture(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		imgs: fakeImages{"debian": {Name: "debian", SHA256: "ab", Size: 1 << 30, Compression: images.Zstd}}}
	clock := func() time.Time { return f.now }
	db, err := inventory.Open(t.TempDir(), inventory.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.store = db
	cfg := Config{Store: db, Images: f.imgs, Boot: boot.Config{URL: "http://10.0.0.1:8081"}, Now: clock}
	for _, m := range mod {
		m(&cfg)
	}
	f.lc = New(cfg)
	return f
}

// claim claims mac's boot as an installer would, with a nonce of its own.
func (f *fixture) claim(m string) (inventory.Host, string) {
	f.t.Helper()
	h, tok, err := f.lc.Claim(context.Background(), m, machineapi.Claim{Nonce: "nonce-of-" + m, Mode: "inspect"}, "10.0.0.9")
	if err != nil {
		f.t.Fatalf("claim %s: %v", m, err)
	}
	return h, tok
}

// ready enrols a host and walks it to ready through the installer's calls.
func (f *fixture) ready(m string) inventory.Host {
	f.t.Helper()
	ctx := context.Background()
	f.claim(m)
	h, err := f.lc.Inspected(ctx, m, machineapi.Facts{CPUs: 2, MemoryBytes: 1 << 30, Firmware: "uefi", UUID: "u-1"})
	if err != nil || h.State != inventory.StateReady {
		f.t.Fatalf("inspected: %+v %v", h, err)
	}
	return h
}

func (f *fixture) host(m string) inventory.Host {
	f.t.Helper()
	h, err := f.store.Host(context.Background(), m)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) events(m string) []inventory.Event {
	f.t.Helper()
	ev, err := f.store.Events(context.Background(), m, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

// unchanged fails unless the host and its log are as they were: a refused
// operation stores nothing.
func (f *fixture) unchanged(m string, before inventory.Host, nevents int, rev uint64) {
	f.t.Helper()
	if after := f.host(m); !reflect.DeepEqual(after, before) {
		f.t.Errorf("host changed by a refused operation:\n%+v\nwas\n%+v", after, before)
	}
	if n := len(f.events(m)); n != nevents {
		f.t.Errorf("%d events after a refused operation, was %d", n, nevents)
	}
	if r := f.store.Revision(); r != rev {
		f.t.Errorf("store revision %d after a refused operation, was %d", r, rev)
	}
}
