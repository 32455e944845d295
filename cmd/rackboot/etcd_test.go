package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/inventory/etcdtest"
)

// startEtcd starts a 3-member etcd cluster for one test (not under
// -short) and returns its endpoints, comma-separated.
func startEtcd(t *testing.T) *etcdtest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("etcd cluster: not under -short")
	}
	c, err := etcdtest.Start(context.Background(), t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func sealKeyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seal.key")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(p, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTwoAppliancesOnEtcd: two serves on one etcd inventory show the
// same hosts; a third with another sealing key refuses to start and says
// why; one without a key is told to give one.
func TestTwoAppliancesOnEtcd(t *testing.T) {
	c := startEtcd(t)
	eps := strings.Join(c.Endpoints(), ",")
	key := sealKeyFile(t)
	// Data dirs not made yet: serve makes them (the token lives there).
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	urlA, stopA := startServe(t, dirA, "--etcd-endpoints", eps, "--seal-key-file", key, "--appliance-id", "a")
	defer stopA()
	urlB, stopB := startServe(t, dirB, "--etcd-endpoints", eps, "--seal-key-file", key, "--appliance-id", "b")
	defer stopB()
	if out, code := cli(t, "host", "add", "52:54:00:00:00:01", "--hostname", "node1", "--server", urlA, "--data-dir", dirA); code != 0 {
		t.Fatalf("host add on a: %d %s", code, out)
	}
	// b's index follows etcd's watch: the host shows there a moment later.
	eventually(t, "host show on b", func() (string, bool) {
		out, code := cli(t, "host", "show", "52:54:00:00:00:01", "--server", urlB, "--data-dir", dirB)
		return out, code == 0 && strings.Contains(out, "node1")
	})
	if out, code := cli(t, "host", "rm", "52:54:00:00:00:01", "--server", urlB, "--data-dir", dirB); code != 0 {
		t.Fatalf("host rm on b: %d %s", code, out)
	}
	eventually(t, "host show on a after rm on b", func() (string, bool) {
		out, code := cli(t, "host", "show", "52:54:00:00:00:01", "--server", urlA, "--data-dir", dirA)
		return out, code == 1 && strings.Contains(out, "not found")
	})
	// User-data applied through a is what b shows (and its deploys read).
	ud := filepath.Join(t.TempDir(), "web.yaml")
	os.WriteFile(ud, []byte("#cloud-config\npackages: [nginx]\n"), 0o600)
	if out, code := cli(t, "user-data", "apply", ud, "--selector", "role=web", "--server", urlA, "--data-dir", dirA); code != 0 {
		t.Fatalf("user-data apply on a: %d %s", code, out)
	}
	eventually(t, "user-data on b", func() (string, bool) {
		out, code := cli(t, "user-data", "show", "web", "--server", urlB, "--data-dir", dirB)
		return out, code == 0 && strings.Contains(out, "packages: [nginx]") && strings.Contains(out, "role=web")
	})
	if out, code := cli(t, "user-data", "rm", "web", "--server", urlB, "--data-dir", dirB); code != 0 {
		t.Fatalf("user-data rm on b: %d %s", code, out)
	}
	if out, code := cli(t, "user-data", "show", "web", "--server", urlA, "--data-dir", dirA); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("user-data show on a after rm on b: %d %s", code, out)
	}
	// A backup of an etcd inventory is etcd's snapshot: the API says so,
	// and the CLI leaves no file.
	bk := filepath.Join(t.TempDir(), "backup.tar")
	if out, code := cli(t, "backup", bk, "--server", urlA, "--data-dir", dirA); code == 0 || !strings.Contains(out, "etcdctl snapshot save") || !strings.Contains(out, "501") {
		t.Fatalf("backup on etcd: %d %s", code, out)
	}
	if _, err := os.Stat(bk); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backup on etcd left %s: %v", bk, err)
	}
	// Each appliance's API lists both, registered on their sessions.
	for _, sv := range []struct{ url, dir string }{{urlA, dirA}, {urlB, dirB}} {
		eventually(t, "appliances listed on "+sv.url, func() (string, bool) {
			list := appliances(t, sv.url, sv.dir)
			return fmt.Sprint(list), len(list) == 2 && list[0].ID == "a" && list[1].ID == "b" && list[0].URL != ""
		})
	}
	// An image imported on a is adopted by b: its blob fetched from a by
	// sha256 and verified.
	disk := make([]byte, 1<<20)
	disk[510], disk[511], disk[9000] = 0x55, 0xaa, 42
	img := filepath.Join(t.TempDir(), "os.raw")
	os.WriteFile(img, disk, 0o600)
	if out, code := cli(t, "image", "import", img, "--name", "testos", "--server", urlA, "--data-dir", dirA); code != 0 {
		t.Fatalf("image import on a: %d %s", code, out)
	}
	eventually(t, "image on b", func() (string, bool) {
		out, code := cli(t, "image", "show", "testos", "--server", urlB, "--data-dir", dirB, "-o", "json")
		return out, code == 0 && strings.Contains(out, fmt.Sprintf("%x", sha256.Sum256(disk)))
	})
	blobs, _ := filepath.Glob(filepath.Join(dirB, "images", "blobs", "sha256", "*"))
	if len(blobs) != 1 {
		t.Fatalf("b's blobs: %v", blobs)
	}
	if got, _ := os.ReadFile(blobs[0]); !bytes.Equal(got, disk) {
		t.Fatal("b's blob differs from the imported image")
	}
	if out, code := cli(t, "image", "rm", "testos", "--server", urlA, "--data-dir", dirA); code != 0 {
		t.Fatalf("image rm on a: %d %s", code, out)
	}
	eventually(t, "image gone from b", func() (string, bool) {
		out, code := cli(t, "image", "show", "testos", "--server", urlB, "--data-dir", dirB)
		return out, code == 1 && strings.Contains(out, "not found")
	})

	// The dashboard's health strip lists them too.
	eventually(t, "appliances on b's dashboard", func() (string, bool) {
		page := dashboardPage(t, urlB, dirB)
		return page, strings.Contains(page, "appliance a") && strings.Contains(page, "appliance b (this one)")
	})
	out, code := cli(t, append([]string{"serve", "--data-dir", t.TempDir(), "--etcd-endpoints", eps, "--seal-key-file", sealKeyFile(t)}, loopbackAddrs...)...)
	if code != 1 || !strings.Contains(out, "sealing key differs") || !strings.Contains(out, "--seal-key-file") {
		t.Fatalf("serve with another key: %d %s", code, out)
	}
	out, code = cli(t, append([]string{"serve", "--data-dir", t.TempDir(), "--etcd-endpoints", eps}, loopbackAddrs...)...)
	if code != 1 || !strings.Contains(out, "needs --seal-key-file") {
		t.Fatalf("serve without a key: %d %s", code, out)
	}
}

// eventually retries check until it holds, for what another appliance
// learns through etcd's watch; it gives up after 10 s.
func eventually(t *testing.T, what string, check func() (string, bool)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, ok := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// appliances is GET /api/v1/appliances on one appliance, through the
// CLI's client (which trusts the appliance's certificate by its data dir).
func appliances(t *testing.T, url, dataDir string) []cluster.Status {
	t.Helper()
	var body struct{ Appliances []cluster.Status }
	if err := testClient(t, url, dataDir).do(t.Context(), http.MethodGet, "/api/v1/appliances", nil, &body); err != nil {
		t.Fatalf("GET /api/v1/appliances: %v", err)
	}
	return body.Appliances
}

// dashboardPage logs in to an appliance's dashboard and returns its host
// list page.
func dashboardPage(t *testing.T, url, dataDir string) string {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := *testClient(t, url, dataDir).http // its TLS trust, and a jar for the session
	c.Jar, c.Timeout = jar, 5*time.Second
	resp, err := c.PostForm(url+"/ui/login", neturl.Values{"token": {strings.TrimSpace(string(tok))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(url + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
