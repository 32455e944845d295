package tlscert

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrMismatch is a server certificate that is not the one the client was
// told to trust.
var ErrMismatch = errors.New("certificate not trusted")

// Trust is how a client decides to trust the operator side's certificate.
// Its zero value trusts the system's roots only.
type Trust struct {
	// Fingerprint pins the server's certificate by its SHA-256 (as
	// Fingerprint prints it; colons, case and the "SHA256:" prefix are
	// optional). It overrides the other two.
	Fingerprint string
	// CAFile is a PEM file of certificates to trust as roots, in place of
	// the system's.
	CAFile string
	// DataDirCert is the data dir's own certificate (tls.crt), trusted
	// beside the system's roots when the client runs on the appliance.
	DataDirCert string
}

// Config is the client TLS configuration for reaching host (the URL's
// host name or address) under t. Every refusal is an error wrapping
// ErrMismatch that names the certificate the server presented and the one
// expected, so the operator can compare them with what serve logged.
func (t Trust) Config(host string) (*tls.Config, error) {
	check, err := t.checker(host)
	if err != nil {
		return nil, err
	}
	// Go's own chain check is replaced by check, which does the same
	// (roots, host name) or compares a pin, and says which failed.
	return &tls.Config{ServerName: host, InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("server sent no certificate: %w", ErrMismatch)
		}
		return check(cs.PeerCertificates)
	}}, nil
}

func (t Trust) checker(host string) (func([]*x509.Certificate) error, error) {
	if t.Fingerprint != "" {
		want, err := parseFingerprint(t.Fingerprint)
		if err != nil {
			return nil, err
		}
		return func(certs []*x509.Certificate) error {
			if sum := sha256.Sum256(certs[0].Raw); string(sum[:]) != string(want) {
				return fmt.Errorf("server certificate %s does not match the expected %s (--fingerprint): %w",
					Fingerprint(certs[0]), formatSum(want), ErrMismatch)
			}
			return nil
		}, nil
	}
	var pool *x509.CertPool
	what := "the system's roots"
	var expect *x509.Certificate
	switch {
	case t.CAFile != "":
		certs, err := readPEM(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool, what = x509.NewCertPool(), t.CAFile+" (--ca)"
		for _, c := range certs {
			pool.AddCert(c)
		}
	case t.DataDirCert != "":
		certs, err := readPEM(t.DataDirCert)
		if err != nil {
			return nil, err
		}
		pool, err = x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pool.AddCert(certs[0])
		expect, what = certs[0], "the data dir's "+t.DataDirCert+" or the system's roots"
	}
	return func(certs []*x509.Certificate) error {
		opts := x509.VerifyOptions{Roots: pool, DNSName: host, Intermediates: x509.NewCertPool()}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := certs[0].Verify(opts); err != nil {
			msg := fmt.Sprintf("server certificate %s is not trusted by %s", Fingerprint(certs[0]), what)
			if expect != nil {
				msg += fmt.Sprintf(", whose certificate is %s", Fingerprint(expect))
			}
			return fmt.Errorf("%s (%v); if it is the right server, pass --fingerprint %s or --ca FILE: %w",
				msg, err, Fingerprint(certs[0]), ErrMismatch)
		}
		return nil
	}, nil
}

func formatSum(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return "SHA256:" + strings.Join(parts, ":")
}

// parseFingerprint reads a SHA-256 fingerprint: 64 hex digits, with or
// without colons, either case, with or without "SHA256:".
func parseFingerprint(s string) ([]byte, error) {
	h := strings.TrimSpace(s)
	if len(h) >= 7 && strings.EqualFold(h[:7], "SHA256:") {
		h = h[7:]
	}
	h = strings.ReplaceAll(h, ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("fingerprint %q: want a SHA-256 fingerprint, 64 hex digits (colons optional), as serve logs it", s)
	}
	return b, nil
}

// ReadCert is the first certificate of a PEM file.
func ReadCert(path string) (*x509.Certificate, error) {
	certs, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

func readPEM(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trust: %s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trust: %s: no PEM certificate in it", path)
	}
	return out, nil
}
