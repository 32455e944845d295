package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// openAPIValidator parses the served document and checks it against the
// OpenAPI 3.1 schema.
func openAPIValidator(t *testing.T, doc []byte) (validator.Validator, map[string][]string) {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v := d.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.json is not valid OpenAPI 3.1: %v", e)
		}
		t.FailNow()
	}
	var raw struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	ops := map[string][]string{} // path → methods
	for p, item := range raw.Paths {
		for m := range item {
			if m != "parameters" {
				ops[p] = append(ops[p], strings.ToUpper(m))
			}
		}
	}
	return v, ops
}

// docPath is the OpenAPI path of a chi route: a trailing wildcard (the
// dashboard's own routes) is the path parameter {page}.
func docPath(route string) string {
	if p, ok := strings.CutSuffix(route, "/*"); ok {
		return p + "/{page}"
	}
	return route
}

// TestOpenAPIDescribesEveryRoute compares the document with the router:
// every route the router serves is described, with each of its methods
// (a route that takes any method, the dashboard's, with GET), and every
// described operation is a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &Server{Store: store, Token: testToken, Backup: store}
	h := s.Handler()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	_, ops := openAPIValidator(t, rec.Body.Bytes())

	routes := map[string][]string{}
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes[docPath(route)] = append(routes[docPath(route)], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 19 {
		t.Fatalf("walked %d routes, expected at least 19", len(routes))
	}
	// The routes outside /api/v1 are the API listener's too, and in the
	// document: were one served elsewhere, the comparison below would
	// not see it missing.
	for _, p := range []string{"/healthz", "/metrics"} {
		if routes[p] == nil || !slices.Contains(ops[p], "GET") {
			t.Errorf("GET %s: routed %v, described %v; want both", p, routes[p], ops[p])
		}
	}
	for p, methods := range routes {
		described := ops[p]
		if described == nil {
			t.Errorf("route %s %v is not in openapi.json", p, methods)
			continue
		}
		if len(methods) >= 9 { // r.Handle: any method; the handler routes
			if !slices.Contains(described, "GET") {
				t.Errorf("route %s (any method) has no GET in openapi.json", p)
			}
			continue
		}
		for _, m := range methods {
			if m != "HEAD" && !slices.Contains(described, m) {
				t.Errorf("route %s %s is not in openapi.json", m, p)
			}
		}
	}
	for p, methods := range ops {
		served := routes[p]
		for _, m := range methods {
			if served == nil || (len(served) < 9 && !slices.Contains(served, m)) {
				t.Errorf("openapi.json describes %s %s, which the router does not serve", m, p)
			}
		}
	}
}

// TestOpenAPIValidatesAnswers sends real requests to the API, on an
// inventory with a host in every state, a config and an image, and
// validates every answer (status, content type, body) against the
// document with libopenapi-validator.
func TestOpenAPIValidatesAnswers(t *testing.T) {
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	imgs, err := images.Open(t.TempDir(), images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 1<<20)
	disk[510], disk[511] = 0x55, 0xaa
	if _, err := imgs.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "testos"}); err != nil {
		t.Fatal(err)
	}
	lc := lifecycle(store, imgs)
	macs := populate(t, store, lc)
	ready := macs[2]
	trace := &boottrace.Trace{}
	trace.Record(ready, boottrace.StepLoader, "bootx64.efi", "tftp")
	trace.Record(ready, boottrace.StepConfig, "grub/grub.cfg", "tftp")
	s := &Server{Store: store, Lifecycle: lc, Token: testToken, Images: imgs, Backup: store, BootTrace: trace, Appliances: oneAppliance{}}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	v, _ := openAPIValidator(t, openAPI)

	calls := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/api/v1/openapi.json", "", 200},
		{"GET", "/api/v1/hosts", "", 200},
		{"GET", "/api/v1/hosts?state=ready&limit=1", "", 200},
		{"GET", "/api/v1/hosts?state=bogus", "", 400},
		{"GET", "/api/v1/hosts/" + ready, "", 200},
		{"GET", "/api/v1/hosts/52:54:00:ff:ff:ff", "", 404},
		{"GET", "/api/v1/hosts/" + ready + "/events", "", 200},
		{"GET", "/api/v1/hosts/" + ready + "/boot-steps", "", 200},
		{"POST", "/api/v1/hosts", `{"mac":"52-54-00-AA-00-01","hostname":"n1","labels":{"rack":"r9"},"bmc":{"address":"10.0.0.9","protocol":"ipmi","username":"u","password":"p"}}`, 201},
		{"POST", "/api/v1/hosts", `{"mac":"52-54-00-AA-00-01"}`, 409},
		{"PATCH", "/api/v1/hosts/52:54:00:aa:00:01", `{"hostname":"n2","ip":null}`, 200},
		{"PATCH", "/api/v1/hosts/52:54:00:aa:00:01", `{"uefi_loader":"shim"}`, 200},
		{"PATCH", "/api/v1/hosts/52:54:00:aa:00:01", `{"uefi_loader":"grub"}`, 400},
		{"POST", "/api/v1/hosts/" + ready + "/agent-token", `{"revoke":true}`, 201},
		{"POST", "/api/v1/hosts/" + ready + "/actions/deploy", `{"image":"testos","user_data":"#cloud-config\nhostname: n1\n"}`, 200},
		{"POST", "/api/v1/hosts/" + ready + "/actions/deploy", `{"image":"testos"}`, 409},
		{"POST", "/api/v1/hosts/" + macs[6] + "/actions/retry", ``, 200},
		{"GET", "/api/v1/configs", "", 200},
		{"GET", "/api/v1/configs/motd", "", 200},
		{"PUT", "/api/v1/configs/web", `{"selector":{"rack":"r9"},"body":"- kind: file\n  name: /etc/web\n"}`, 201},
		{"PUT", "/api/v1/configs/web", `{"selector":{"rack":"r9"},"body":"- kind: nosuch\n"}`, 400},
		{"DELETE", "/api/v1/configs/web", "", 204},
		{"GET", "/api/v1/images", "", 200},
		{"GET", "/api/v1/images/testos", "", 200},
		{"GET", "/api/v1/images/nosuch", "", 404},
		{"PUT", "/api/v1/user-data/web", `{"selector":{"rack":"r9"},"body":"#cloud-config\npackages: [nginx]\n"}`, 201},
		{"PUT", "/api/v1/user-data/web", `{"body":"#cloud-config\n: [\n"}`, 400},
		{"POST", "/api/v1/user-data", `{"name":"web","body":"#!/bin/sh\ntrue\n"}`, 409},
		{"GET", "/api/v1/user-data", "", 200},
		{"GET", "/api/v1/user-data/web", "", 200},
		{"DELETE", "/api/v1/user-data/web", "", 204},
		{"GET", "/api/v1/hosts/" + ready + "/values", "", 200},
		{"POST", "/api/v1/hosts", `{"mac":"52:54:00:aa:00:02","uefi_loader":"ipxe","network":{"address":"10.0.0.5/24","gateway":"10.0.0.1","dns":["10.0.0.1"]}}`, 201},
		{"PATCH", "/api/v1/hosts/52:54:00:aa:00:02", `{"network":null}`, 200},
		{"GET", "/api/v1/backup", "", 200},
		{"GET", "/api/v1/appliances", "", 200},
		{"DELETE", "/api/v1/hosts/52:54:00:aa:00:01", "", 204},
	}
	for _, c := range calls {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, _ := http.NewRequest(c.method, hs.URL+c.path, body)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, resp.StatusCode, c.want, b)
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		// The validator matches the request to its path with the
		// document's server (/), so it gets the path alone.
		vreq, _ := http.NewRequest(c.method, c.path, strings.NewReader(c.body))
		vreq.Header = req.Header
		if ok, errs := v.ValidateHttpResponse(vreq, resp); !ok {
			for _, e := range errs {
				t.Errorf("%s %s → %d does not match openapi.json: %v %v", c.method, c.path, resp.StatusCode, e, e.SchemaValidationErrors)
			}
		}
		if c.body != "" && c.want < 300 {
			vreq, _ = http.NewRequest(c.method, c.path, strings.NewReader(c.body))
			vreq.Header = req.Header
			if ok, errs := v.ValidateHttpRequest(vreq); !ok {
				for _, e := range errs {
					t.Errorf("request %s %s does not match openapi.json: %v", c.method, c.path, e)
				}
			}
		}
	}
}
