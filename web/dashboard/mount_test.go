package dashboard_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/web"
)

// TestMountedBesideAPI runs the dashboard as rackboot serve does, with no
// Actions of its own: a button goes through the REST API's action route,
// and the API's refusal is what the operator reads.
func TestMountedBesideAPI(t *testing.T) {
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:00:01"
	db.CreateHost(t.Context(), inventory.Host{MAC: mac}, "test")
	lc := provision.New(provision.Config{Store: db, Boot: boot.Config{URL: "http://10.9.0.1:8081"}})
	srv := httptest.NewServer((&web.Server{Store: db, Lifecycle: lc, Token: token}).Handler())
	t.Cleanup(func() { srv.Close(); db.Close() })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != http.StatusUnauthorized || !strings.Contains(body, "Operator token") {
		t.Fatalf("GET / without a session: %d", code)
	}
	resp, err := c.PostForm(srv.URL+"/ui/login", url.Values{"token": {token}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	code, body := get("/ui/hosts/" + mac)
	_, rest, _ := strings.Cut(body, `name="csrf-token" content="`)
	csrf, _, _ := strings.Cut(rest, `"`)
	if code != http.StatusOK || csrf == "" {
		t.Fatalf("host page: %d", code)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/ui/hosts/"+mac+"/actions/release", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Accept", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "discovered → ready not allowed") {
		t.Errorf("release of a discovered host: %d %s", resp.StatusCode, b)
	}
}
