package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

const testToken = "0123456789abcdef0123456789abcdef"

type apiTest struct {
	t     *testing.T
	srv   *httptest.Server
	store *inventory.DB
	dir   string
	h     http.Handler
}

func newAPITest(t *testing.T) *apiTest {
	t.Helper()
	dir := t.TempDir()
	store, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: store, Lifecycle: lifecycle(store, nil), Token: testToken, MaxBodyBytes: 4096}
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); store.Close() })
	return &apiTest{t: t, srv: srv, store: store, dir: dir, h: h}
}

// lifecycle is the lifecycle of store, with imgs as its image store when
// not nil.
func lifecycle(store *inventory.DB, imgs *images.Store) *provision.Lifecycle {
	cfg := provision.Config{Store: store, Boot: boot.Config{URL: "http://10.9.0.1:8081"}}
	if imgs != nil {
		cfg.Images = imgs
	}
	return provision.New(cfg)
}

// call sends a request with the operator token and returns the status and
// the body.
func (a *apiTest) call(method, path, body string, hdr ...string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEveryRouteNeedsToken walks the router's own route list, so a route
// added later without authentication fails here.
func TestEveryRouteNeedsToken(t *testing.T) {
	a := newAPITest(t)
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:01"}`)
	n := 0
	err := chi.Walk(a.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		path := strings.NewReplacer("{mac}", "52:54:00:00:00:01", "{action}", "release", "{name}", "x").Replace(route)
		path = strings.ReplaceAll(path, "/*", "/")
		for _, auth := range []string{"", "Bearer wrong-token", "Basic " + testToken, "Bearer "} {
			req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader("{}"))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			want := http.StatusUnauthorized
			if route == "/healthz" {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("%s %s with Authorization %q: %d, want %d", method, route, auth, resp.StatusCode, want)
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 9 {
		t.Fatalf("walked %d routes, expected at least 9", n)
	}
	if h, _ := a.store.Host(t.Context(), "52:54:00:00:00:01"); h.State != inventory.StateDiscovered || h.Version != 1 {
		t.Fatalf("unauthenticated requests changed the host: %+v", h)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	a := newAPITest(t)
	const m = "52:54:00:00:00:01"
	a.call("POST", "/api/v1/hosts", `{"mac":"`+m+`","hostname":"keep"}`)
	_, before := a.call("GET", "/api/v1/hosts/"+m, "")
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		mention                  string
	}{
		{"invalid mac", "POST", "/api/v1/hosts", `{"mac":"52:54:00:zz:00:01"}`, nil, 400, "52:54:00:zz:00:01"},
		{"missing mac", "POST", "/api/v1/hosts", `{"hostname":"a"}`, nil, 400, "mac"},
		{"duplicate mac", "POST", "/api/v1/hosts", `{"mac":"52-54-00-00-00-01"}`, nil, 409, "already exists"},
		{"unknown state", "POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:02","state":"sleeping"}`, nil, 400, "sleeping"},
		{"unknown state filter", "GET", "/api/v1/hosts?state=sleeping", "", nil, 400, "sleeping"},
		{"bad limit", "GET", "/api/v1/hosts?limit=0", "", nil, 400, "limit"},
		{"wrong type", "PATCH", "/api/v1/hosts/" + m, `{"hostname":42}`, nil, 400, "hostname"},
		{"wrong type in bmc", "PATCH", "/api/v1/hosts/" + m, `{"bmc":{"address":1}}`, nil, 400, "address"},
		{"unknown field", "PATCH", "/api/v1/hosts/" + m, `{"hostnme":"x"}`, nil, 400, "hostnme"},
		{"malformed json", "PATCH", "/api/v1/hosts/" + m, `{"hostname":`, nil, 400, "JSON"},
		{"two values", "PATCH", "/api/v1/hosts/" + m, `{} {}`, nil, 400, "more than one"},
		{"oversized body", "PATCH", "/api/v1/hosts/" + m, `{"hostname":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "larger than"},
		{"invalid hostname", "PATCH", "/api/v1/hosts/" + m, `{"hostname":"Bad_Name"}`, nil, 400, "hostname"},
		{"state by patch", "PATCH", "/api/v1/hosts/" + m, `{"state":"ready"}`, nil, 400, "state"},
		{"stale version in body", "PATCH", "/api/v1/hosts/" + m, `{"version":999,"hostname":"x"}`, nil, 409, "version"},
		{"stale If-Match", "PATCH", "/api/v1/hosts/" + m, `{"hostname":"x"}`, []string{"If-Match", `"999"`}, 412, "version"},
		{"illegal transition", "POST", "/api/v1/hosts/" + m + "/actions/release", "", nil, 409, "discovered → ready"},
		{"retry not failed", "POST", "/api/v1/hosts/" + m + "/actions/retry", "", nil, 409, "only to failed"},
		{"unknown action", "POST", "/api/v1/hosts/" + m + "/actions/explode", "", nil, 404, "explode"},
		{"unknown host", "GET", "/api/v1/hosts/52:54:00:00:00:09", "", nil, 404, "not found"},
		{"bad mac in path", "DELETE", "/api/v1/hosts/nonsense", "", nil, 400, "nonsense"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := a.call(tc.method, tc.path, tc.body, tc.hdr...)
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Fatalf("body %q is not a JSON error", body)
			}
			if code != tc.code || !strings.Contains(e.Error, tc.mention) {
				t.Fatalf("%d %q, want %d naming %q", code, e.Error, tc.code, tc.mention)
			}
		})
	}
	if _, after := a.call("GET", "/api/v1/hosts/"+m, ""); after != before {
		t.Fatalf("host changed by refused requests:\n%s\n%s", before, after)
	}
	if code, body := a.call("GET", "/api/v1/hosts", ""); code != 200 || !strings.Contains(body, `"total": 1`) {
		t.Fatalf("list after bad input: %d %s", code, body)
	}
}

func TestPatchAndETag(t *testing.T) {
	a := newAPITest(t)
	const m = "52:54:00:00:00:01"
	a.call("POST", "/api/v1/hosts", `{"mac":"`+m+`","labels":{"a":"1"},"bmc":{"address":"x","protocol":"ipmi"}}`)
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/hosts/"+m, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	tag := resp.Header.Get("ETag")
	code, body := a.call("PATCH", "/api/v1/hosts/"+m, `{"hostname":"n1","labels":null,"bmc":null}`, "If-Match", tag)
	var h inventory.Host
	json.Unmarshal([]byte(body), &h)
	if code != 200 || h.Hostname != "n1" || h.Labels != nil || h.BMC != nil {
		t.Fatalf("patch: %d %s", code, body)
	}
	if code, _ := a.call("PATCH", "/api/v1/hosts/"+m, `{"hostname":"n2"}`, "If-Match", tag); code != 412 {
		t.Fatalf("second patch with the old ETag: %d, want 412", code)
	}
}

// TestPasswordNeverLeaves sets a BMC password and reads every answer the
// API gives about the host, then every file in the data dir.
func TestPasswordNeverLeaves(t *testing.T) {
	a := newAPITest(t)
	const m, secret = "52:54:00:00:00:01", "tr0ub4dor-and-3"
	var bodies []string
	_, b := a.call("POST", "/api/v1/hosts", fmt.Sprintf(`{"mac":"%s","bmc":{"address":"10.1.1.1","protocol":"redfish","username":"root","password":"%s"}}`, m, secret))
	bodies = append(bodies, b)
	_, b = a.call("PATCH", "/api/v1/hosts/"+m, `{"hostname":"n1"}`)
	bodies = append(bodies, b)
	for _, p := range []string{"/api/v1/hosts/" + m, "/api/v1/hosts", "/api/v1/hosts?q=n1", "/api/v1/hosts/" + m + "/events", "/metrics"} {
		_, b = a.call("GET", p, "")
		bodies = append(bodies, b)
	}
	for i, b := range bodies {
		if strings.Contains(b, secret) {
			t.Errorf("answer %d contains the BMC password: %s", i, b)
		}
	}
	if !strings.Contains(bodies[0], `"has_password": true`) {
		t.Fatalf("create answer does not say a password is set: %s", bodies[0])
	}
	if pw, err := a.store.BMCPassword(t.Context(), m); err != nil || pw != secret {
		t.Fatalf("stored password = %q, %v", pw, err)
	}
	a.store.Close()
	filepath.Walk(a.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the password in plaintext", p)
			}
		}
		return nil
	})
}

func TestListFilterAndPaging(t *testing.T) {
	a := newAPITest(t)
	for i := 0; i < 30; i++ {
		a.call("POST", "/api/v1/hosts", fmt.Sprintf(`{"mac":"52:54:00:00:00:%02x","hostname":"web%02d","labels":{"role":"%s"}}`, i, i, []string{"web", "db"}[i%2]))
	}
	var p inventory.Page
	_, b := a.call("GET", "/api/v1/hosts?label=role=db&limit=10", "")
	json.Unmarshal([]byte(b), &p)
	if p.Total != 15 || len(p.Hosts) != 10 || p.Next == "" {
		t.Fatalf("page 1: total %d, %d hosts, next %q", p.Total, len(p.Hosts), p.Next)
	}
	_, b = a.call("GET", "/api/v1/hosts?label=role=db&limit=10&after="+p.Next, "")
	p = inventory.Page{}
	json.Unmarshal([]byte(b), &p)
	if len(p.Hosts) != 5 || p.Next != "" {
		t.Fatalf("page 2: %d hosts, next %q", len(p.Hosts), p.Next)
	}
	_, b = a.call("GET", "/api/v1/hosts?q=WEB1", "")
	json.Unmarshal([]byte(b), &p)
	if p.Total != 10 {
		t.Fatalf("search web1: total %d, want 10", p.Total)
	}
}

func TestMetrics(t *testing.T) {
	a := newAPITest(t)
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:01"}`)
	a.call("GET", "/api/v1/hosts/52:54:00:00:00:01", "")
	_, b := a.call("GET", "/metrics", "")
	for _, want := range []string{
		`rackboot_hosts{state="discovered"} 1`,
		`rackboot_api_requests_total{code="200",method="GET",route="/api/v1/hosts/{mac}"} 1`,
		`rackboot_api_request_duration_seconds_bucket{method="POST",route="/api/v1/hosts"`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
