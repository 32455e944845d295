// Package tlscert is the operator side's TLS identity: the self-signed
// certificate serve makes on first start and keeps in the data dir, the
// SHA-256 fingerprint operators compare, and the client-side checks the
// CLI trusts a server with (the data dir's certificate, a CA file, or a
// pinned fingerprint).
//
// It is not for the machine side, which stays plain HTTP: the iPXE in
// Debian has no HTTPS, and machines prove who they are with per-host
// tokens instead (see README, Security).
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rackboot/rackboot/atomicfile"
)

// The files in the data dir.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// validity is how long a self-signed certificate lasts. It is pinned by
// fingerprint or trusted as its own root, never checked against a public
// CA's rules, and a new one means every CLI and browser must trust it
// again: so it lasts long.
const validity = 10 * 365 * 24 * time.Hour

// Identity is the certificate the operator side serves.
type Identity struct {
	Cert tls.Certificate
	Leaf *x509.Certificate
	// Created is true when LoadOrCreate made it on this start.
	Created bool
	// CertPath is where it is kept; empty for none.
	CertPath string
}

// Fingerprint is the SHA-256 fingerprint of the identity's certificate.
func (id Identity) Fingerprint() string { return Fingerprint(id.Leaf) }

// Fingerprint is "SHA256:" and the SHA-256 of cert's DER in colon-separated
// upper-case hex, the way `openssl x509 -fingerprint -sha256` prints it, so
// an operator can compare either.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return formatSum(sum[:])
}

// LoadOrCreate returns the identity kept in dir, making a self-signed one
// for names (host names and IP addresses) if there is none. The key is
// written before the certificate, each atomically, the key 0600: a crash
// in between leaves no certificate, and the next start makes both anew.
func LoadOrCreate(dir string, names []string, now time.Time) (Identity, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	id, err := Load(certPath, keyPath)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	certPEM, keyPEM, err := selfSigned(names, now)
	if err != nil {
		return Identity{}, err
	}
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return Identity{}, fmt.Errorf("tls key: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return Identity{}, fmt.Errorf("tls certificate: %w", err)
	}
	id, err = Load(certPath, keyPath)
	id.Created = true
	return id, err
}

// Load reads a certificate (chain) and its key, both PEM. A missing file
// is an error wrapping fs.ErrNotExist.
func Load(certPath, keyPath string) (Identity, error) {
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Stat(p); err != nil {
			return Identity{}, fmt.Errorf("tls: %w", err)
		}
	}
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return Identity{}, fmt.Errorf("tls: %s and %s: %w", certPath, keyPath, err)
	}
	return Identity{Cert: c, Leaf: c.Leaf, CertPath: certPath}, nil
}

// Missing returns the names of names the certificate does not cover.
func (id Identity) Missing(names []string) []string {
	var out []string
	for _, n := range names {
		if id.Leaf.VerifyHostname(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

func selfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "rackboot operator API", Organization: []string{"rackboot"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range dedupe(names) {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Names are what a certificate for a server listening on addr must cover:
// the address's host if it names one, every address of this machine if it
// listens on all of them, loopback, localhost and the machine's host name.
func Names(addr string) []string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if hn, err := os.Hostname(); err == nil {
		names = append(names, hn)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return append(names, host)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			names = append(names, n.IP.String())
		}
	}
	return names
}
