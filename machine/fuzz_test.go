package machine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

// fuzzServer is the machine side of a fresh store, and its lifecycle.
func fuzzServer(tb testing.TB) (http.Handler, *inventory.DB, *provision.Lifecycle) {
	store, err := inventory.Open(tb.TempDir(), inventory.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	lc := provision.New(provision.Config{Store: store, Boot: boot.Config{URL: "http://10.0.0.1:8081"}})
	s := &Server{Lifecycle: lc, Graphs: runGraphs(tb, store)}
	h, err := s.Handler()
	if err != nil {
		tb.Fatal(err)
	}
	return h, store, lc
}

// FuzzScriptRequest feeds arbitrary query strings to /boot.ipxe: the
// answer is a script or a 400, never a panic or a 500.
func FuzzScriptRequest(f *testing.F) {
	for _, s := range []string{"mac=52:54:00:12:34:56", "mac=52-54-00-12-34-56", "mac=${mac}", "mac=%00", "mac=a&mac=b", "", "mac=5254.0012.3456"} {
		f.Add(s)
	}
	h, store, _ := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		rev := store.Revision()
		req := httptest.NewRequest("GET", "/boot.ipxe", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200:
			if !strings.HasPrefix(w.Body.String(), "#!ipxe\n") {
				t.Fatalf("200 without a script: %q", w.Body.String())
			}
		case 400:
		default:
			t.Fatalf("query %q: %d %s", query, w.Code, w.Body.String())
		}
		if store.Revision() != rev {
			t.Fatalf("query %q wrote", query)
		}
	})
}

// FuzzInspectBody feeds arbitrary bodies to the report endpoint with a
// valid token: the answer is 200, 400, 404, 409 or 413, never a panic or
// a 500.
func FuzzInspectBody(f *testing.F) {
	f.Add([]byte(goodReport))
	f.Add([]byte(`{"mac":"52:54:00:12:34:56","facts":{"disks":[{"size_bytes":-1}]}}`))
	f.Add([]byte(`{"mac":"52:54:00:12:34:56","facts":null}`))
	f.Add([]byte(`[]`))
	h, store, lc := fuzzServer(f)
	store.CreateHost(f.Context(), inventory.Host{MAC: testMAC, State: inventory.StateInspecting}, "test")
	tok := claimToken(f, lc, testMAC)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/machine/v1/inspect?mac="+testMAC, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 401, 404, 409, 413:
		default:
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
	})
}

// FuzzInstallerReports feeds arbitrary bodies to the installer's deploy
// and wipe reports for a host that is deploying with a wipe pending:
// each answer is a 2xx or 4xx, never a panic or a 500, and the host is
// never marked deployed (its wipe has not been done) nor left in a state
// those reports cannot lead to.
func FuzzInstallerReports(f *testing.F) {
	for _, s := range []string{
		`{"written":1,"total":2,"rate_bps":1}`, `{"disk":"/dev/vda","written":1,"seconds":1}`, `{"cause":"x"}`,
		`{"disks":[{"disk":"/dev/vda","size":1,"table":"gpt","partitions":1,"zeroed":1}],"seconds":0.1}`,
		`{"disks":[{}]}`, `{"disks":null}`, `{"seconds":-1e999}`, `{"written":-1}`,
	} {
		for route := range 4 {
			f.Add(uint8(route), []byte(s))
		}
	}
	routes := []string{"progress", "deployed", "failed", "wiped"}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		h, store, lc := fuzzServer(t)
		store.CreateHost(t.Context(), inventory.Host{MAC: testMAC, State: inventory.StateDeploying, Image: "x",
			Wipe: &inventory.WipeRequest{Actor: "op"}}, "test")
		path := "/machine/v1/" + routes[int(route)%len(routes)] + "?mac=" + testMAC
		req := httptest.NewRequest("POST", path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+claimToken(t, lc, testMAC))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body.String())
		}
		hst, _ := store.Host(t.Context(), testMAC)
		switch hst.State {
		case inventory.StateDeploying, inventory.StateFailed:
		default:
			t.Fatalf("%s %q left the host %s", path, body, hst.State)
		}
	})
}

// FuzzAgentExport feeds arbitrary bodies to the agent's export call with
// a valid agent token: the answer is 200, 400 or 413, never a panic or a
// 500, and what is stored is always one line of printable text under a
// well-formed key. Seeds live in testdata/fuzz/FuzzAgentExport.
func FuzzAgentExport(f *testing.F) {
	f.Add([]byte(`{"key":"wg-pubkey","value":"9QXU0J4E7UiUkTYIK4nZ5dFr+mcbCUlcynR9g5UmYRk="}`))
	h, store, lc := fuzzServer(f)
	store.CreateHost(f.Context(), inventory.Host{MAC: testMAC, State: inventory.StateActive}, "test")
	tok, err := lc.AgentToken(f.Context(), testMAC, false, "test")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/machine/v1/agent/export?mac="+testMAC, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("%q: %d %s", body, w.Code, w.Body.String())
		}
		vals, err := store.PublishedValues(t.Context(), testMAC)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if err := v.Validate(); err != nil {
				t.Fatalf("%q stored %+v: %v", body, v, err)
			}
		}
	})
}

// claimToken arms a boot of mac and claims it, as a power action and the
// host's installer would.
func claimToken(tb testing.TB, lc *provision.Lifecycle, mac string) string {
	tb.Helper()
	if _, err := lc.ArmBoot(context.Background(), mac, "test", "test"); err != nil {
		tb.Fatal(err)
	}
	_, tok, err := lc.Claim(context.Background(), mac, machineapi.Claim{Nonce: "the-fuzz-installer-nonce"}, "127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// FuzzClaim feeds arbitrary queries and bodies to the claim, the one call
// that needs no token: the answer is 200, 400, 404, 409 or 413, never a
// panic or a 500, and once a boot is claimed, a claim with another nonce
// is refused.
func FuzzClaim(f *testing.F) {
	f.Add("mac=52:54:00:12:34:56", []byte(`{"nonce":"0123456789abcdef0123","mode":"inspect"}`))
	f.Add("mac=52:54:00:12:34:56", []byte(`{"nonce":"x"}`))
	f.Add("mac=zz", []byte(`{}`))
	f.Add("", []byte(`[`))
	f.Add("mac=52:54:00:00:00:01", []byte(`{"nonce":"0123456789abcdef0123","mode":"\u001b]52;c;aGk=\u0007"}`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		h, store, _ := fuzzServer(t)
		store.CreateHost(t.Context(), inventory.Host{MAC: testMAC, State: inventory.StateReady,
			Credentials: inventory.Credentials{BootArmed: true}}, "test")
		post := func(body []byte) int {
			req := httptest.NewRequest("POST", "/machine/v1/claim", strings.NewReader(string(body)))
			req.URL.RawQuery = query
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch w.Code {
			case 200, 400, 404, 409, 413:
			default:
				t.Fatalf("%q %q: %d %s", query, body, w.Code, w.Body.String())
			}
			return w.Code
		}
		if post(body) == 200 && !strings.Contains(string(body), "somebody-else-entirely-1") {
			if code := post([]byte(`{"nonce":"somebody-else-entirely-1"}`)); code != 409 {
				t.Fatalf("%q %q: a second claimant got %d, want 409", query, body, code)
			}
		}
	})
}

// FuzzGRUBConfig feeds arbitrary TFTP names to GRUBConfig, as TFTP hands
// them over: a name that is not GRUB's passes on, a malformed MAC is an
// error, a config is rendered only for a MAC that normalises, nothing
// panics and nothing is written.
func FuzzGRUBConfig(f *testing.F) {
	store, err := inventory.Open(f.TempDir(), inventory.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	lc := provision.New(provision.Config{Store: store, Boot: boot.Config{URL: "http://10.0.0.1:8081"}})
	s := &Server{Lifecycle: lc, Graphs: runGraphs(f, store)}
	if _, err := s.Handler(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rev := store.Revision()
		b, ok, err := s.GRUBConfig(context.Background(), name)
		if r := store.Revision(); r != rev {
			t.Fatalf("%q wrote", name)
		}
		raw, isHost := strings.CutPrefix(name, boot.GRUBHostConfig)
		switch {
		case name == boot.GRUBConfig:
			if !ok || err != nil || len(b) == 0 {
				t.Fatalf("chain config: %v %v", ok, err)
			}
		case !isHost:
			if ok || err != nil {
				t.Fatalf("%q: ok %v err %v, want passed on", name, ok, err)
			}
		default:
			_, merr := inventory.NormalizeMAC(raw)
			if !ok || (merr == nil) != (err == nil) {
				t.Fatalf("%q: ok %v err %v, MAC err %v", name, ok, err, merr)
			}
		}
	})
}
