package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory/etcdtest"
)

// pki is a CA, a certificate for the etcd members (127.0.0.1) and a
// client certificate, as PEM files in a temp dir.
type pki struct {
	dir                                string
	ca, server, serverKey, client, key string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := pki{dir: dir, ca: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage, x509.ExtKeyUsageClientAuth},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		cert, keyPath := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
		writePEM(t, cert, "CERTIFICATE", der)
		writePEM(t, keyPath, "EC PRIVATE KEY", kder)
		return cert, keyPath
	}
	p.server, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	p.client, p.key = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeOnEtcdWithTLS: serve reaches an etcd cluster that speaks TLS
// and wants client certificates with --etcd-cert/--etcd-key/--etcd-ca;
// without a client certificate it stops with etcd's refusal.
func TestServeOnEtcdWithTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("etcd cluster: not under -short")
	}
	p := newPKI(t)
	pair, err := tls.LoadX509KeyPair(p.client, p.key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(p.ca)
	roots.AppendCertsFromPEM(caPEM)
	c, err := etcdtest.StartWith(context.Background(), etcdtest.Options{Dir: t.TempDir(), Members: 3,
		TLS:       &etcdtest.TLSFiles{CertFile: p.server, KeyFile: p.serverKey, CAFile: p.ca},
		ClientTLS: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	eps := strings.Join(c.Endpoints(), ",")
	if !strings.HasPrefix(eps, "https://") {
		t.Fatalf("endpoints %s: not TLS", eps)
	}
	key := sealKeyFile(t)
	dir := t.TempDir()
	url, stop := startServe(t, dir, "--etcd-endpoints", eps, "--seal-key-file", key,
		"--etcd-cert", p.client, "--etcd-key", p.key, "--etcd-ca", p.ca)
	defer stop()
	if out, code := cli(t, "host", "add", "52:54:00:00:00:07", "--server", url, "--data-dir", dir); code != 0 {
		t.Fatalf("host add over a TLS etcd: %d %s", code, out)
	}
	// Without a client certificate etcd refuses the connection; serve
	// gives up when its first request times out.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	code := run(ctx, append([]string{"serve", "--data-dir", t.TempDir(), "--etcd-endpoints", eps, "--seal-key-file", key,
		"--etcd-ca", p.ca}, loopbackAddrs...), &out, &out)
	if code == 0 || ctx.Err() != nil || !strings.Contains(out.String(), "did not answer") || !strings.Contains(out.String(), "--etcd-cert") {
		t.Fatalf("serve without a client certificate: exit %d (%v): %s", code, ctx.Err(), out.String())
	}
	t.Logf("without a client certificate: %s", strings.TrimSpace(out.String()))
}
