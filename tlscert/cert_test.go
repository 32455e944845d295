package tlscert_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/tlscert"
)

func TestLoadOrCreateKeepsOneIdentity(t *testing.T) {
	dir := t.TempDir()
	id, err := tlscert.LoadOrCreate(dir, []string{"127.0.0.1", "localhost", "rack1.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !id.Created {
		t.Error("first start: Created is false")
	}
	st, err := os.Stat(filepath.Join(dir, tlscert.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode())
	}
	if id.Leaf.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("key algorithm %s, want ECDSA", id.Leaf.PublicKeyAlgorithm)
	}
	if m := id.Missing([]string{"127.0.0.1", "rack1.example", "localhost"}); len(m) != 0 {
		t.Errorf("certificate does not cover %v", m)
	}
	if m := id.Missing([]string{"other.example"}); len(m) != 1 {
		t.Errorf("Missing(other.example) = %v", m)
	}
	again, err := tlscert.LoadOrCreate(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Fingerprint() != id.Fingerprint() {
		t.Errorf("second start made a new certificate: %s → %s", id.Fingerprint(), again.Fingerprint())
	}
	// The fingerprint is the one openssl prints, so an operator can check it.
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(dir, tlscert.CertFile)).Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSpace(string(out))
		want := "sha256 Fingerprint=" + strings.TrimPrefix(id.Fingerprint(), "SHA256:")
		if !strings.EqualFold(got, want) {
			t.Errorf("openssl says %q, rackboot %q", got, id.Fingerprint())
		}
	}
}

// server serves TLS on loopback with a fresh self-signed identity.
func server(t *testing.T) (*httptest.Server, tlscert.Identity, string) {
	t.Helper()
	dir := t.TempDir()
	id, err := tlscert.LoadOrCreate(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, id, filepath.Join(dir, tlscert.CertFile)
}

func get(t *testing.T, url string, tr tlscert.Trust) error {
	t.Helper()
	cfg, err := tr.Config("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestTrust(t *testing.T) {
	srv, id, certPath := server(t)
	_, other, otherPath := server(t)
	for name, tc := range map[string]struct {
		trust tlscert.Trust
		ok    bool
		names []string // in the error
	}{
		"fingerprint":                 {tlscert.Trust{Fingerprint: id.Fingerprint()}, true, nil},
		"fingerprint plain lowercase": {tlscert.Trust{Fingerprint: strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(id.Fingerprint(), "SHA256:"), ":", ""))}, true, nil},
		"wrong fingerprint":           {tlscert.Trust{Fingerprint: other.Fingerprint()}, false, []string{id.Fingerprint(), other.Fingerprint(), "--fingerprint"}},
		"ca file":                     {tlscert.Trust{CAFile: certPath}, true, nil},
		"wrong ca file":               {tlscert.Trust{CAFile: otherPath}, false, []string{id.Fingerprint(), otherPath}},
		"data dir":                    {tlscert.Trust{DataDirCert: certPath}, true, nil},
		"other data dir":              {tlscert.Trust{DataDirCert: otherPath}, false, []string{id.Fingerprint(), other.Fingerprint()}},
		"system roots only":           {tlscert.Trust{}, false, []string{id.Fingerprint()}},
	} {
		t.Run(name, func(t *testing.T) {
			err := get(t, srv.URL, tc.trust)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tlscert.ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error does not name %s: %v", n, err)
				}
			}
		})
	}
}

func TestBadFingerprintIsNamed(t *testing.T) {
	_, err := tlscert.Trust{Fingerprint: "SHA256:zz"}.Config("x")
	if err == nil || !strings.Contains(err.Error(), `"SHA256:zz"`) {
		t.Fatalf("err = %v", err)
	}
}
