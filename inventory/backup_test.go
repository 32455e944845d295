package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupWhileWriting backs up while hosts and leases are written
// without pause, restores the backup into a new data dir, and finds there
// every lease and host whose write was acknowledged before the backup
// began, their BMC passwords opened with the key that travelled in it,
// and a database that passes bbolt's check.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	var (
		mu          sync.Mutex
		leases      []Lease // acknowledged, in order
		hosts       []string
		stop        = make(chan struct{})
		wg          sync.WaitGroup
		writeErrors = make(chan error, 2)
	)
	wg.Add(2)
	go func() { // leases, one commit each, as the DHCP committer does
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := Lease{IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), MAC: mac(i), Expires: time.Now().Add(time.Hour).UTC()}
			if err := db.WriteLeases(ctx, []LeaseChange{{Put: []Lease{l}}}); err != nil {
				writeErrors <- err
				return
			}
			mu.Lock()
			leases = append(leases, l)
			mu.Unlock()
		}
	}()
	go func() { // hosts with sealed BMC passwords
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h := Host{MAC: mac(1<<20 + i), BMC: &BMC{Address: "10.9.0.1", Protocol: "ipmi", Username: "admin", Password: fmt.Sprint("pw", i)}}
			if _, err := db.CreateHost(ctx, h, "test"); err != nil {
				writeErrors <- err
				return
			}
			mu.Lock()
			hosts = append(hosts, h.MAC)
			mu.Unlock()
		}
	}()
	// Let the writers get going, then take what was acknowledged so far.
	for {
		mu.Lock()
		n, m := len(leases), len(hosts)
		mu.Unlock()
		if n >= 200 && m >= 50 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	ackedLeases := append([]Lease(nil), leases...)
	ackedHosts := append([]string(nil), hosts...)
	mu.Unlock()
	var buf bytes.Buffer
	info, err := db.Backup(slowWriter{&buf}) // so that writes land while it reads
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	during := len(leases) - len(ackedLeases) + len(hosts) - len(ackedHosts)
	mu.Unlock()
	close(stop)
	wg.Wait()
	close(writeErrors)
	for err := range writeErrors {
		t.Fatalf("write during the backup: %v", err)
	}
	t.Logf("backup of %d bytes; %d leases and %d hosts acknowledged before it; %d writes between then and its end",
		buf.Len(), len(ackedLeases), len(ackedHosts), during)
	if info.Schema != SchemaVersion || info.DBBytes <= 0 {
		t.Errorf("backup info %+v", info)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(buf.Bytes()), dir, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{DatabaseFile, KeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("restored %s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
		}
	}
	if err := CheckFile(filepath.Join(dir, DatabaseFile), nil); err != nil {
		t.Errorf("restored database: %v", err)
	}
	rdb := openTest(t, dir, Options{})
	stored, err := rdb.Leases()
	if err != nil {
		t.Fatal(err)
	}
	have := map[netip.Addr]string{}
	for _, l := range stored {
		have[l.IP] = l.MAC
	}
	for _, l := range ackedLeases {
		if have[l.IP] != l.MAC {
			t.Fatalf("lease %s → %s acknowledged before the backup began is not in the restore (%d of %d leases there)", l.IP, l.MAC, len(stored), len(ackedLeases))
		}
	}
	for i, m := range ackedHosts {
		if pw, err := rdb.BMCPassword(ctx, m); err != nil || pw != fmt.Sprint("pw", i) {
			t.Fatalf("host %s acknowledged before the backup began: BMC password %q, %v", m, pw, err)
		}
	}
}

func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), Options{})
	if _, err := src.CreateHost(ctx, Host{MAC: mac(1), BMC: &BMC{Address: "10.9.0.1", Protocol: "ipmi", Password: "secret"}}, "test"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := src.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	backup := buf.Bytes()

	t.Run("running", func(t *testing.T) {
		dir := t.TempDir()
		openTest(t, dir, Options{}) // holds the lock, as serve does
		_, err := Restore(bytes.NewReader(backup), dir, RestoreOptions{Force: true})
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop it first") {
			t.Fatalf("restore into a running data dir: %v", err)
		}
	})
	t.Run("not empty", func(t *testing.T) {
		dir := t.TempDir()
		db := openTest(t, dir, Options{})
		db.CreateHost(ctx, Host{MAC: mac(2)}, "test")
		db.Close()
		before, _ := os.ReadFile(filepath.Join(dir, DatabaseFile))
		if _, err := Restore(bytes.NewReader(backup), dir, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("restore into a stopped, non-empty data dir: %v", err)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, DatabaseFile)); !bytes.Equal(before, after) {
			t.Fatal("the refused restore changed the database")
		}
		if _, err := Restore(bytes.NewReader(backup), dir, RestoreOptions{Force: true}); err != nil {
			t.Fatalf("restore --force: %v", err)
		}
		db = openTest(t, dir, Options{})
		if _, err := db.Host(ctx, mac(2)); !errors.Is(err, ErrNotFound) {
			t.Errorf("the replaced inventory's host is still there: %v", err)
		}
		if pw, err := db.BMCPassword(ctx, mac(1)); err != nil || pw != "secret" {
			t.Errorf("restored BMC password: %q, %v", pw, err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		// The last cut is inside the checksum, after the database.
		for _, n := range []int{0, 100, len(backup) / 2, len(backup) - 1500} {
			dir := t.TempDir()
			_, err := Restore(bytes.NewReader(backup[:n]), dir, RestoreOptions{})
			if !errors.Is(err, ErrBackup) {
				t.Errorf("backup cut at %d of %d bytes: %v; want ErrBackup", n, len(backup), err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("backup cut at %d left %v in the data dir", n, ents)
			}
		}
	})
	t.Run("damaged database", func(t *testing.T) {
		bad := bytes.Clone(backup)
		i := bytes.Index(bad, []byte(`"mac":"`+mac(1)))
		bad[i+2] = 'X' // inside the database: its checksum no longer matches
		_, err := Restore(bytes.NewReader(bad), t.TempDir(), RestoreOptions{})
		if !errors.Is(err, ErrBackup) || !strings.Contains(err.Error(), "SHA-256") {
			t.Fatalf("backup with a changed byte: %v", err)
		}
	})
}

// slowWriter pauses on each write, so a backup takes long enough for the
// writers to commit meanwhile.
type slowWriter struct{ w *bytes.Buffer }

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return s.w.Write(p)
}
