package httpboot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

func fuzzHandler(f *testing.F) http.Handler {
	store, err := inventory.Open(f.TempDir(), inventory.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	s := &Server{Store: store, Tokens: &Tokens{Key: []byte("k")}, URL: "http://10.0.0.1:8081"}
	h, err := s.Handler()
	if err != nil {
		f.Fatal(err)
	}
	return h
}

// FuzzScriptRequest feeds arbitrary query strings to /boot.ipxe: the
// answer is a script or a 400, never a panic or a 500.
func FuzzScriptRequest(f *testing.F) {
	for _, s := range []string{"mac=52:54:00:12:34:56", "mac=52-54-00-12-34-56", "mac=${mac}", "mac=%00", "mac=a&mac=b", "", "mac=5254.0012.3456"} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, query string) {
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
	h := fuzzHandler(f)
	tok := (&Tokens{Key: []byte("k")}).Mint(testMAC)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/machine/v1/inspect", strings.NewReader(string(body)))
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
