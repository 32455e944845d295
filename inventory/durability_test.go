package inventory

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		h := Host{MAC: mac(i), Hostname: fmt.Sprintf("n%d", i), IP: fmt.Sprintf("10.0.0.%d", i+10),
			Labels: map[string]string{"rack": "a"}, BMC: &BMC{Address: "127.0.0.1:623", Protocol: "ipmi", Username: "admin", Password: fmt.Sprint("pw", i)},
			Facts: &Facts{CPUs: 4, MemoryBytes: 1 << 30, Disks: []Disk{{Name: "vda", SizeBytes: 1 << 30}}}}
		db.CreateHost(ctx, h, "test")
		db.Transition(ctx, h.MAC, StateInspecting, "pxe", "dhcp")
	}
	before, _ := db.Hosts(ctx, Query{Limit: MaxLimit})
	evBefore, _ := db.Events(ctx, mac(7), 0)
	db.Close()

	db = openTest(t, dir, Options{})
	after, _ := db.Hosts(ctx, Query{Limit: MaxLimit})
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("hosts differ after restart")
	}
	evAfter, _ := db.Events(ctx, mac(7), 0)
	if !reflect.DeepEqual(evBefore, evAfter) || len(evAfter) != 2 {
		t.Fatalf("events differ after restart: %+v vs %+v", evBefore, evAfter)
	}
	if pw, err := db.BMCPassword(ctx, mac(7)); err != nil || pw != "pw7" {
		t.Fatalf("BMCPassword = %q, %v", pw, err)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{})
	_, err := Open(dir, Options{LockTimeout: 100e6})
	if err == nil || !strings.Contains(err.Error(), "another rackboot") {
		t.Fatalf("second Open: err = %v", err)
	}
}

func TestPasswordNotStoredInPlaintext(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	ctx := context.Background()
	const secret = "correct-horse-battery-staple"
	db.CreateHost(ctx, Host{MAC: mac(1), BMC: &BMC{Address: "a", Protocol: "redfish", Password: secret}}, "test")
	db.UpdateHost(ctx, mac(1), 0, func(h *Host) error { h.Hostname = "x"; return nil }, Event{Actor: "test"})
	h, _ := db.Host(ctx, mac(1))
	if h.BMC.Password != "" || !h.BMC.HasPassword {
		t.Fatalf("Host carries password %q (has=%v)", h.BMC.Password, h.BMC.HasPassword)
	}
	db.Close()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the BMC password in plaintext", p)
		}
		return nil
	})
	if fi, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v, %v", fi, err)
	}
}

// TestKillDuringWrites runs a writer in a child process, kills it with
// SIGKILL while it is writing, and checks that every write it acknowledged
// is in the reopened database and the database is consistent.
func TestKillDuringWrites(t *testing.T) {
	if os.Getenv("RACKBOOT_TEST_WRITER") != "" {
		writer(os.Getenv("RACKBOOT_TEST_WRITER"))
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrites$")
	cmd.Env = append(os.Environ(), "RACKBOOT_TEST_WRITER="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked[m] = true
		}
		if len(acked) == 400 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if len(acked) < 400 {
		t.Fatalf("writer acknowledged only %d writes before it ended", len(acked))
	}
	bdb, err := bolt.Open(filepath.Join(dir, DatabaseFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatalf("database inconsistent after SIGKILL: %v", err)
	}
	db := openTest(t, dir, Options{})
	for m := range acked {
		if _, err := db.Host(context.Background(), m); err != nil {
			t.Errorf("acknowledged host %s lost: %v", m, err)
		}
	}
}

// writer creates hosts from 8 goroutines forever, printing each MAC once
// its create has returned.
func writer(dir string) {
	db, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				m := mac(g<<16 | i)
				if _, err := db.CreateHost(context.Background(), Host{MAC: m, Hostname: "w"}, "writer"); err != nil {
					fmt.Println("create:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("ack", m)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
