package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/tlscert"
)

// TestOperatorHTTPS: serve makes its certificate on first start, logs its
// fingerprint, speaks HTTP/2 over it; the CLI trusts it through the data
// dir or the fingerprint, refuses another fingerprint naming both, and
// `rackboot cert` shows it.
func TestOperatorHTTPS(t *testing.T) {
	dir := t.TempDir()
	sv, stop := startServeAt(t, dir)
	defer stop()
	if !strings.HasPrefix(sv.APIURL, "https://") {
		t.Fatalf("api_url %q: want https", sv.APIURL)
	}
	cert, err := tlscert.ReadCert(filepath.Join(dir, tlscert.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if fp := tlscert.Fingerprint(cert); fp != sv.Fingerprint {
		t.Fatalf("logged fingerprint %s, data dir's certificate %s", sv.Fingerprint, fp)
	}
	if st, err := os.Stat(filepath.Join(dir, tlscert.KeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key: %v %v", err, st)
	}
	if cert.VerifyHostname("127.0.0.1") != nil || cert.VerifyHostname("localhost") != nil {
		t.Errorf("certificate names %v %v: want 127.0.0.1 and localhost", cert.DNSNames, cert.IPAddresses)
	}

	hc, err := (&clientFlags{dataDir: dir}).httpClient(sv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(sv.APIURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("operator side answered %s, want HTTP/2", resp.Proto)
	}

	// Plain HTTP to the HTTPS port carries nothing: Go's server answers
	// 400 without reading the request as one.
	resp, err = http.Get("http://" + sv.API + "/api/v1/hosts")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the HTTPS port: %d %s", resp.StatusCode, b)
		}
	}

	if out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", dir); code != 0 {
		t.Fatalf("host list trusting the data dir: %d %s", code, out)
	}
	tok := readToken(t, dir)
	if out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", t.TempDir(), "--token", tok, "--fingerprint", strings.ToLower(sv.Fingerprint)); code != 0 {
		t.Fatalf("host list with --fingerprint: %d %s", code, out)
	}
	if out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", t.TempDir(), "--token", tok, "--ca", filepath.Join(dir, tlscert.CertFile)); code != 0 {
		t.Fatalf("host list with --ca: %d %s", code, out)
	}
	other, err := tlscert.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", dir, "--fingerprint", other.Fingerprint())
	if code == 0 || !strings.Contains(out, sv.Fingerprint) || !strings.Contains(out, other.Fingerprint()) {
		t.Fatalf("wrong fingerprint: %d %s; want a refusal naming both fingerprints", code, out)
	}
	t.Logf("wrong fingerprint: %s", out)
	out, code = cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", t.TempDir(), "--token", tok)
	if code == 0 || !strings.Contains(out, sv.Fingerprint) || !strings.Contains(out, "--fingerprint") {
		t.Fatalf("no trust: %d %s; want a refusal naming the certificate and how to trust it", code, out)
	}
	out, code = cli(t, "cert", "--server", sv.APIURL, "--data-dir", dir)
	if code != 0 || strings.Count(out, sv.Fingerprint) != 2 || !strings.Contains(out, "trusted:     yes") {
		t.Fatalf("rackboot cert: %d %s", code, out)
	}
	out, _ = cli(t, "cert", "--server", sv.APIURL, "--data-dir", t.TempDir())
	if !strings.Contains(out, sv.Fingerprint) || !strings.Contains(out, "trusted:     no") {
		t.Fatalf("rackboot cert without trust: %s", out)
	}
}

// TestOperatorCertFlags: the operator's own certificate is served as given;
// half a pair, or a pair with --insecure-http, stops serve with the reason.
func TestOperatorCertFlags(t *testing.T) {
	own := t.TempDir()
	id, err := tlscert.LoadOrCreate(own, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sv, stop := startServeAt(t, dir, "--tls-cert", filepath.Join(own, tlscert.CertFile), "--tls-key", filepath.Join(own, tlscert.KeyFile))
	if sv.Fingerprint != id.Fingerprint() {
		t.Errorf("serving %s, want the given certificate %s", sv.Fingerprint, id.Fingerprint())
	}
	if _, err := os.Stat(filepath.Join(dir, tlscert.CertFile)); err == nil {
		t.Error("a self-signed certificate was made although --tls-cert was given")
	}
	if out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", dir, "--ca", filepath.Join(own, tlscert.CertFile)); code != 0 {
		t.Fatalf("host list: %d %s", code, out)
	}
	stop()
	for _, args := range [][]string{
		{"--tls-cert", filepath.Join(own, tlscert.CertFile)},
		{"--insecure-http", "--tls-cert", filepath.Join(own, tlscert.CertFile), "--tls-key", filepath.Join(own, tlscert.KeyFile)},
		{"--tls-cert", filepath.Join(own, "nope.crt"), "--tls-key", filepath.Join(own, tlscert.KeyFile)},
	} {
		out, code := cli(t, append(append([]string{"serve", "--data-dir", t.TempDir()}, loopbackAddrs...), args...)...)
		if code == 0 || !strings.Contains(out, "tls") {
			t.Errorf("serve %v: %d %s", args, code, out)
		}
	}
}

// TestInsecureHTTP: plain HTTP only when asked for, and the CLI follows.
func TestInsecureHTTP(t *testing.T) {
	dir := t.TempDir()
	sv, stop := startServeAt(t, dir, "--insecure-http")
	defer stop()
	if !strings.HasPrefix(sv.APIURL, "http://") {
		t.Fatalf("api_url %q", sv.APIURL)
	}
	if _, err := os.Stat(filepath.Join(dir, tlscert.CertFile)); err == nil {
		t.Error("--insecure-http made a certificate")
	}
	if out, code := cli(t, "host", "list", "--server", sv.APIURL, "--data-dir", dir); code != 0 {
		t.Fatalf("host list over HTTP: %d %s", code, out)
	}
	out, code := cli(t, "host", "list", "--server", "https://"+sv.API, "--data-dir", dir)
	if code == 0 {
		t.Fatalf("https:// to a plain HTTP server: %s", out)
	}
}
