package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupRestoreThroughServe backs a serving rackboot up with `rackboot
// backup` while hosts are added through its API without pause, restores
// the file with `rackboot restore` into a new data dir (after refusing the
// running one), serves from it, and finds every host whose add was
// answered before the backup began. (That the key travels with it and
// the leases real DHCP clients were ACKed, TestBackupWhileDHCPClientsLease
// checks, in network namespaces; inventory's TestBackupWhileWriting the
// same of the store alone.)
func TestBackupRestoreThroughServe(t *testing.T) {
	dir := t.TempDir()
	url, stop := startServe(t, dir)
	adder := startAddingHosts(t, testClient(t, url, dir).http, url, readToken(t, dir))
	for len(adder.acked()) < 30 && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
	before := adder.acked()
	file := filepath.Join(t.TempDir(), "rackboot.backup")
	out, code := cli(t, "backup", file, "--server", url, "--data-dir", dir)
	added := adder.stop()
	if code != 0 || !strings.Contains(out, "keep it secret") {
		t.Fatalf("rackboot backup: %d %s", code, out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	t.Logf("%d hosts added before the backup began, %d in all; %s", len(before), len(added), strings.TrimSpace(out))

	if out, code := cli(t, "restore", file, "--data-dir", dir, "--force"); code != 1 || !strings.Contains(out, "stop it first") {
		t.Fatalf("restore into the running data dir: %d %s", code, out)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	if out, code := cli(t, "restore", file, "--data-dir", dir); code != 1 || !strings.Contains(out, "--force") {
		t.Fatalf("restore into a stopped data dir with an inventory, without --force: %d %s", code, out)
	}

	fresh := filepath.Join(t.TempDir(), "new-machine")
	if out, code := cli(t, "restore", file, "--data-dir", fresh); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s", code, out)
	}
	url, stop = startServe(t, fresh)
	defer stop()
	out, code = cli(t, "host", "list", "-o", "json", "--server", url, "--data-dir", fresh)
	if code != 0 {
		t.Fatalf("host list on the restored appliance: %d %s", code, out)
	}
	var hosts []struct{ MAC string }
	if err := json.Unmarshal([]byte(out), &hosts); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, h := range hosts {
		have[h.MAC] = true
	}
	for _, m := range before {
		if !have[m] {
			t.Fatalf("host %s, added before the backup began, is not on the restored appliance (%d hosts there)", m, len(hosts))
		}
	}
}

// hostAdder adds hosts with sealed BMC passwords through the API, one
// after the other, and records those whose add was answered.
type hostAdder struct {
	mu    sync.Mutex
	added []string
	quit  chan struct{}
	done  chan struct{}
}

// startAddingHosts starts adding hosts to the serve at url through hc.
func startAddingHosts(t *testing.T, hc *http.Client, url, token string) *hostAdder {
	t.Helper()
	a := &hostAdder{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for i := 0; ; i++ {
			select {
			case <-a.quit:
				return
			default:
			}
			mac := fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8&0xff, i&0xff)
			body := fmt.Sprintf(`{"mac":%q,"bmc":{"address":"10.9.0.1","protocol":"ipmi","username":"admin","password":"pw-%d"}}`, mac, i)
			req, _ := http.NewRequest("POST", url+"/api/v1/hosts", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				t.Errorf("add %s: %v", mac, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("add %s: %s", mac, resp.Status)
				return
			}
			a.mu.Lock()
			a.added = append(a.added, mac)
			a.mu.Unlock()
		}
	}()
	t.Cleanup(func() { a.stop() })
	return a
}

func (a *hostAdder) acked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.added...)
}

// stop ends the adds (once) and returns every host added.
func (a *hostAdder) stop() []string {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	<-a.done
	return a.acked()
}
