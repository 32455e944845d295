package lab

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rackboot/rackboot/tlscert"
)

// identity makes the appliance's TLS certificate before serve starts, in
// the data dir where serve loads it: the lab's own, for its veth address,
// so the lab, the CLI (--data-dir) and a browser on this machine can
// trust it. A certificate left by an earlier lab in the same directory
// that does not name this lab's address is replaced.
func (l *Lab) identity() error {
	if err := os.MkdirAll(l.DataDir, 0o700); err != nil {
		return fmt.Errorf("lab data dir: %w", err)
	}
	names := tlscert.Names(l.LabAddr + ":8080")
	id, err := tlscert.LoadOrCreate(l.DataDir, names, time.Now())
	if err == nil && len(id.Missing(names)) > 0 {
		for _, f := range []string{tlscert.CertFile, tlscert.KeyFile} {
			if err := os.Remove(filepath.Join(l.DataDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("lab tls: %w", err)
			}
		}
		id, err = tlscert.LoadOrCreate(l.DataDir, names, time.Now())
	}
	if err != nil {
		return fmt.Errorf("lab tls: %w", err)
	}
	l.Cert, l.Fingerprint = id.CertPath, id.Fingerprint()
	return l.save()
}

// httpClient is an HTTPS client that trusts the lab's certificate and
// nothing else.
func (l *Lab) httpClient() (*http.Client, error) {
	cfg, err := tlscert.Trust{CAFile: l.Cert}.Config(l.LabAddr)
	if err != nil {
		return nil, fmt.Errorf("lab tls: %w", err)
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}, nil
}
