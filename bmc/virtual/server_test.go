package virtual

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) (*httptest.Server, *Simulated) {
	m := &Simulated{}
	s, err := New(Config{Username: "admin", Password: "secret", Machine: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, m
}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if _, ok := hdr["X-Auth-Token"]; !ok && hdr["noauth"] == "" {
		req.SetBasicAuth("admin", "secret")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func TestServiceRootIsOpenAndSystemsNeedAuth(t *testing.T) {
	srv, _ := newTestServer(t)
	noauth := map[string]string{"noauth": "1"}
	if r, v := do(t, "GET", srv.URL+"/redfish/v1/", "", noauth); r.StatusCode != 200 || v["Links"] == nil {
		t.Errorf("service root: %d %v", r.StatusCode, v)
	}
	if r, _ := do(t, "GET", srv.URL+"/redfish/v1/Systems/1", "", noauth); r.StatusCode != 401 {
		t.Errorf("unauthenticated system: %d, want 401", r.StatusCode)
	}
	if r, _ := do(t, "GET", srv.URL+"/redfish/v1/Nope", "", nil); r.StatusCode != 404 {
		t.Errorf("unknown path: %d, want 404", r.StatusCode)
	}
}

func TestSessionLifecycle(t *testing.T) {
	srv, _ := newTestServer(t)
	noauth := map[string]string{"noauth": "1"}
	r, _ := do(t, "POST", srv.URL+sessionsPath, `{"UserName":"admin","Password":"bad"}`, noauth)
	if r.StatusCode != 401 {
		t.Fatalf("bad password: %d", r.StatusCode)
	}
	r, _ = do(t, "POST", srv.URL+sessionsPath, `{"UserName":"admin","Password":"secret"}`, noauth)
	tok, loc := r.Header.Get("X-Auth-Token"), r.Header.Get("Location")
	if r.StatusCode != 201 || tok == "" || loc == "" {
		t.Fatalf("login: %d token=%q location=%q", r.StatusCode, tok, loc)
	}
	auth := map[string]string{"X-Auth-Token": tok}
	if r, _ := do(t, "GET", srv.URL+systemPath, "", auth); r.StatusCode != 200 {
		t.Errorf("with token: %d", r.StatusCode)
	}
	if r, _ := do(t, "DELETE", srv.URL+loc, "", auth); r.StatusCode != 204 {
		t.Errorf("logout: %d", r.StatusCode)
	}
	if r, _ := do(t, "GET", srv.URL+systemPath, "", auth); r.StatusCode != 401 {
		t.Errorf("after logout: %d, want 401", r.StatusCode)
	}
}

func TestResetAndBootOverride(t *testing.T) {
	srv, m := newTestServer(t)
	reset := srv.URL + systemPath + "/Actions/ComputerSystem.Reset"
	for _, c := range []struct {
		method, url, body string
		status            int
		on                bool
	}{
		{"POST", reset, `{"ResetType":"On"}`, 204, true},
		{"POST", reset, `{"ResetType":"Explode"}`, 400, true},
		{"PATCH", srv.URL + systemPath, `{"Boot":{"BootSourceOverrideTarget":"Floppy"}}`, 400, true},
		{"PATCH", srv.URL + systemPath, `{"Boot":{"BootSourceOverrideTarget":"Hdd","BootSourceOverrideEnabled":"Continuous"}}`, 204, true},
		{"POST", reset, `{"ResetType":"ForceRestart"}`, 204, true},
		{"POST", reset, `{"ResetType":"ForceOff"}`, 204, false},
		{"POST", reset, `{"ResetType":"PowerCycle"}`, 204, true},
		{"POST", reset, `{"ResetType":"GracefulShutdown"}`, 204, false},
	} {
		if r, v := do(t, c.method, c.url, c.body, nil); r.StatusCode != c.status {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.body, r.StatusCode, v, c.status)
		}
		if m.Powered() != c.on {
			t.Errorf("after %s: powered=%v, want %v", c.body, m.Powered(), c.on)
		}
	}
	// A continuous override survives every start.
	if n, boot := m.Starts(); n != 3 || boot != (Boot{Device: "Hdd", Continuous: true}) {
		t.Errorf("starts=%d boot=%+v", n, boot)
	}
	_, v := do(t, "GET", srv.URL+systemPath, "", nil)
	if b := v["Boot"].(map[string]any); b["BootSourceOverrideEnabled"] != "Continuous" {
		t.Errorf("boot after use: %v", b)
	}
}

func TestOnceOverrideIsConsumed(t *testing.T) {
	b := newBootOverride()
	if err := b.set("Pxe", "Once", ""); err != nil {
		t.Fatal(err)
	}
	if got := b.take(); got != (Boot{Device: "Pxe"}) {
		t.Errorf("first take = %+v", got)
	}
	if got := b.take(); got != (Boot{}) {
		t.Errorf("second take = %+v, want none", got)
	}
	if a := (Boot{Device: "Pxe"}).QEMUArgs(); strings.Join(a, " ") != "-boot once=n" {
		t.Errorf("QEMUArgs = %q", a)
	}
}
