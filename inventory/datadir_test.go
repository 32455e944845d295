package inventory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// filledDir is a copy of filled, a data dir with an inventory of many
// pages made once per test.
func filledDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{DatabaseFile, KeyFile} {
		b, err := os.ReadFile(filepath.Join(filled, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	return dir
}

var filled string

func makeFilled(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rackboot-filled-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := openTest(t, dir, Options{})
	ctx := context.Background()
	for i := range 300 {
		db.CreateHost(ctx, Host{MAC: mac(i), Hostname: "node" + strings.Repeat("x", i%40), BMC: &BMC{Address: "10.0.0.5", Protocol: "ipmi", Password: "pw"}}, "test")
		for range 5 {
			db.AppendEvent(ctx, mac(i), Event{Type: "note", Cause: strings.Repeat("c", 100)})
		}
	}
	db.Close()
	return dir
}

// TestBadDataDir: each way a data dir goes wrong stops Open with an error
// that says what to do, never a panic and never an empty inventory in its
// place; Init begins afresh where that is what the operator wants.
func TestBadDataDir(t *testing.T) {
	filled = makeFilled(t)
	t.Run("truncated to half", func(t *testing.T) {
		dir := filledDir(t)
		p := filepath.Join(dir, DatabaseFile)
		fi, _ := os.Stat(p)
		os.Truncate(p, fi.Size()/2)
		wantOpenErr(t, dir, Options{}, ErrCorrupt, "restore from a backup")
	})
	t.Run("garbage in a data page", func(t *testing.T) {
		dir := filledDir(t)
		p := filepath.Join(dir, DatabaseFile)
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		fi, _ := f.Stat()
		garbage := []byte(strings.Repeat("\xde\xad\xbe\xef", 1024))
		for off := int64(4 << 12); off < fi.Size(); off += 16 << 12 { // every 16th page after the metas
			f.WriteAt(garbage, off)
		}
		f.Close()
		wantOpenErr(t, dir, Options{}, ErrCorrupt, "restore from a backup")
	})
	t.Run("garbage in the meta pages", func(t *testing.T) {
		dir := filledDir(t)
		p := filepath.Join(dir, DatabaseFile)
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		f.WriteAt([]byte(strings.Repeat("\x00garbage", 1024)), 0)
		f.Close()
		wantOpenErr(t, dir, Options{}, ErrCorrupt, "restore from a backup")
	})
	t.Run("empty database", func(t *testing.T) {
		dir := filledDir(t)
		os.Truncate(filepath.Join(dir, DatabaseFile), 0)
		wantOpenErr(t, dir, Options{}, ErrDataDir, "is empty (0 bytes)")
		db := openTest(t, dir, Options{Init: true})
		if p, _ := db.Hosts(context.Background(), Query{}); p.Total != 0 {
			t.Fatalf("--init on an empty database: %d hosts", p.Total)
		}
	})
	t.Run("key missing beside the database", func(t *testing.T) {
		dir := filledDir(t)
		os.Remove(filepath.Join(dir, KeyFile))
		wantOpenErr(t, dir, Options{}, ErrDataDir, "secret.key is missing")
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
			t.Fatal("a refused open made a new key")
		}
		db := openTest(t, dir, Options{Init: true})
		if p, _ := db.Hosts(context.Background(), Query{}); p.Total != 300 {
			t.Fatalf("--init with a new key: %d hosts, want the 300 kept", p.Total)
		}
		if _, err := db.BMCPassword(context.Background(), mac(1)); err == nil {
			t.Fatal("a password sealed with the lost key opened")
		}
	})
	t.Run("database missing beside the key", func(t *testing.T) {
		dir := filledDir(t)
		os.Remove(filepath.Join(dir, DatabaseFile))
		wantOpenErr(t, dir, Options{}, ErrDataDir, "rackboot.db is missing")
	})
	t.Run("new dir", func(t *testing.T) {
		openTest(t, filepath.Join(t.TempDir(), "new"), Options{})
	})
}

func wantOpenErr(t *testing.T, dir string, opts Options, want error, says string) {
	t.Helper()
	db, err := Open(dir, opts)
	if err == nil {
		db.Close()
		t.Fatalf("Open succeeded, want %v", want)
	}
	if !errors.Is(err, want) || !strings.Contains(err.Error(), says) {
		t.Fatalf("Open: %v; want %v saying %q", err, want, says)
	}
	t.Logf("%v", err)
}
