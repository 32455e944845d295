package inventory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// schema1Dir is a copy of testdata/schema1: rackboot.db and secret.key as
// the last release before the provisioning-core redesign wrote them
// (testdata/schema1/make says how, and what is in them).
func schema1Dir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{DatabaseFile, KeyFile} {
		b, err := os.ReadFile(filepath.Join("testdata", "schema1", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rawView reads the closed database in dir with bbolt alone.
func rawView(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(filepath.Join(dir, DatabaseFile), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.View(fn); err != nil {
		t.Fatal(err)
	}
}

func TestSchema1FixtureIsSchema1(t *testing.T) {
	rawView(t, schema1Dir(t), func(tx *bolt.Tx) error {
		v, err := schemaOf(tx)
		if err != nil || v != 1 {
			t.Errorf("fixture reads as schema %d (%v), want 1", v, err)
		}
		if tx.Bucket(bucketMeta) != nil || tx.Bucket(bucketChatter) != nil || tx.Bucket(bucketAgentTokensV1) == nil {
			t.Error("fixture does not have schema 1's buckets: regenerate it with testdata/schema1/make")
		}
		return nil
	})
}

func TestOpenMigratesSchema1(t *testing.T) {
	ctx := context.Background()
	dir := schema1Dir(t)
	db := openTest(t, dir, Options{})
	const (
		a = "52:54:00:00:01:0a" // added with a BMC, a lease
		b = "52:54:00:00:01:0b" // deploying, two progress events
		c = "52:54:00:00:01:0c" // active, agent token generation 1, agent reports
	)
	page, err := db.Hosts(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Hosts) != 3 {
		t.Fatalf("%d hosts after migration, want 3", len(page.Hosts))
	}
	uids := map[string]string{}
	for _, h := range page.Hosts {
		if h.Credentials.UID == "" {
			t.Errorf("host %s has no UID after migration", h.MAC)
		}
		if other, dup := uids[h.Credentials.UID]; dup {
			t.Errorf("hosts %s and %s share UID %q", h.MAC, other, h.Credentials.UID)
		}
		uids[h.Credentials.UID] = h.MAC
	}

	ha, _ := db.Host(ctx, a)
	if ha.Hostname != "node-a" || ha.Labels["rack"] != "r1" || ha.State != StateDiscovered || ha.BMC == nil || !ha.BMC.HasPassword {
		t.Errorf("host a migrated as %+v", ha)
	}
	if pw, err := db.BMCPassword(ctx, a); err != nil || pw != "fixture-bmc-pass" {
		t.Errorf("BMC password of a after migration: %q, %v; want the sealed fixture-bmc-pass", pw, err)
	}

	hb, _ := db.Host(ctx, b)
	if hb.State != StateDeploying || hb.Image != "tiny" {
		t.Errorf("host b is %s with image %q, want deploying tiny", hb.State, hb.Image)
	}
	if p := hb.Progress; p == nil || p.Written != 4096 || p.Total != 4096 || p.RateBPS != 1e6 || p.UpdatedAt.IsZero() {
		t.Errorf("host b's progress is %+v, want its last progress event: 4096 of 4096 at 1 MB/s", p)
	}
	if hb.Deploy != nil && hb.Deploy.HasSeed {
		t.Error("host b claims a sealed seed schema 1 never stored")
	}
	evb, err := db.Events(ctx, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evb {
		if e.Type == eventDeployProgressV1 {
			t.Errorf("deploy-progress event %d survived the migration", e.Seq)
		}
	}
	if len(evb) != 6 {
		t.Errorf("host b has %d events, want its 6 that are not progress", len(evb))
	}

	hc, _ := db.Host(ctx, c)
	if hc.State != StateActive || hc.Credentials.AgentGen != 1 {
		t.Errorf("host c is %s with agent generation %d, want active, 1 (from agent_tokens)", hc.State, hc.Credentials.AgentGen)
	}
	evc, err := db.Events(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	var agents int
	for i, e := range evc {
		if i > 0 && e.Seq >= evc[i-1].Seq {
			t.Errorf("events of c out of order: %d after %d", e.Seq, evc[i-1].Seq)
		}
		if e.Type == "agent" {
			agents++
		}
	}
	if agents != 2 || len(evc) != 11 {
		t.Errorf("host c has %d events, %d of them agent reports; want 11 and 2", len(evc), agents)
	}

	leases, err := db.Leases()
	if err != nil || len(leases) != 1 || leases[0].MAC != a || leases[0].IP.String() != "10.77.0.50" {
		t.Errorf("leases after migration: %+v, %v; want a's 10.77.0.50", leases, err)
	}
	if cfg, err := db.AgentConfig(ctx, "base"); err != nil || !strings.Contains(cfg.Body, "hello from schema 1") {
		t.Errorf("agent config base after migration: %+v, %v", cfg, err)
	}

	// The new lifecycle's writes work on a migrated host.
	if _, err := db.ModifyHost(ctx, c, 0, func(h *Host) (Edit, error) {
		h.Credentials.AgentGen++
		return Edit{Type: "agent-token", Actor: "test"}, nil
	}); err != nil {
		t.Fatalf("ModifyHost on a migrated host: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	rawView(t, dir, func(tx *bolt.Tx) error {
		if v, err := schemaOf(tx); v != SchemaVersion || err != nil {
			t.Errorf("schema after migration: %d, %v; want %d", v, err, SchemaVersion)
		}
		if tx.Bucket(bucketAgentTokensV1) != nil {
			t.Error("agent_tokens bucket still there")
		}
		chat := tx.Bucket(bucketChatter).Bucket([]byte(c))
		if chat == nil || chat.Stats().KeyN != 2 {
			t.Error("host c's two agent reports are not in events-chatter")
		}
		main := tx.Bucket(bucketEvents).Bucket([]byte(c))
		main.ForEach(func(k, v []byte) error {
			if bytes.Contains(v, []byte(`"type":"agent"`)) {
				t.Errorf("agent report %x still in the main log", k)
			}
			return nil
		})
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})

	// A second open migrates nothing again.
	db = openTest(t, dir, Options{})
	again, _ := db.Host(ctx, a)
	if again.Credentials.UID != ha.Credentials.UID || again.Version != ha.Version {
		t.Errorf("reopening changed host a: UID %q → %q, version %d → %d", ha.Credentials.UID, again.Credentials.UID, ha.Version, again.Version)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	if _, err := db.CreateHost(context.Background(), Host{MAC: mac(1)}, "test"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	path := filepath.Join(dir, DatabaseFile)
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { return setSchema(tx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	before, _ := os.ReadFile(path)

	_, err = Open(dir, Options{})
	var se *SchemaError
	if !errors.Is(err, ErrSchemaNewer) || !errors.As(err, &se) || se.File != SchemaVersion+1 || se.Binary != SchemaVersion {
		t.Fatalf("Open of a schema %d file: %v; want a SchemaError naming %d and %d", SchemaVersion+1, err, SchemaVersion+1, SchemaVersion)
	}
	for _, want := range []string{"schema version 3", "up to 2", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if errors.Is(err, ErrCorrupt) {
		t.Errorf("a newer schema is reported as corrupt: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the refused file was changed")
	}
}

// A file of the redesign written before versions were recorded (it has
// events-chatter, no meta) is schema 2: stamped, not migrated.
func TestOpenStampsUnversionedSchema2(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	h, err := db.CreateHost(context.Background(), Host{MAC: mac(1)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := bolt.Open(filepath.Join(dir, DatabaseFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMeta) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db = openTest(t, dir, Options{})
	got, _ := db.Host(context.Background(), mac(1))
	if got.Version != h.Version || got.Credentials.UID != h.Credentials.UID {
		t.Errorf("an unversioned schema 2 file was migrated: %+v → %+v", h.Credentials, got.Credentials)
	}
	db.Close()
	rawView(t, dir, func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m == nil || binary.BigEndian.Uint64(m.Get(keySchema)) != SchemaVersion {
			t.Error("schema version not recorded")
		}
		return nil
	})
}
