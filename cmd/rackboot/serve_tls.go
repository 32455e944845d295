package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/rackboot/rackboot/tlscert"
	"github.com/spf13/pflag"
)

// tlsConfig is how the operator side is served: HTTPS with the data dir's
// self-signed certificate (the default), with the operator's own, or plain
// HTTP when asked for by name.
type tlsConfig struct {
	CertFile, KeyFile string
	InsecureHTTP      bool
}

func addTLSFlags(f *pflag.FlagSet, c *tlsConfig) {
	f.StringVar(&c.CertFile, "tls-cert", "", "PEM certificate (chain) for the operator API and dashboard; default a self-signed one kept in the data dir (tls.crt)")
	f.StringVar(&c.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.BoolVar(&c.InsecureHTTP, "insecure-http", false, "serve the operator API and dashboard over plain HTTP: the token and session cookie then cross the network in clear")
}

// operatorTLS is the operator side's TLS configuration (nil for plain
// HTTP) and what the start-up log line says of it.
func operatorTLS(c tlsConfig, dataDir, apiAddr string, log *slog.Logger) (*tls.Config, []any, error) {
	if c.InsecureHTTP {
		if c.CertFile != "" || c.KeyFile != "" {
			return nil, nil, fmt.Errorf("--insecure-http and --tls-cert/--tls-key: choose one")
		}
		log.Warn("operator API and dashboard on plain HTTP (--insecure-http): the operator token and session cookie cross the network in clear")
		return nil, []any{"tls", "off"}, nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, nil, fmt.Errorf("--tls-cert and --tls-key go together: give both, or neither for the self-signed certificate in the data dir")
	}
	var id tlscert.Identity
	var err error
	names := tlscert.Names(apiAddr)
	if c.CertFile != "" {
		id, err = tlscert.Load(c.CertFile, c.KeyFile)
	} else {
		id, err = tlscert.LoadOrCreate(dataDir, names, time.Now())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("operator TLS: %w", err)
	}
	if m := id.Missing(names); len(m) > 0 && c.CertFile == "" {
		log.Warn("the data dir's TLS certificate does not name every address of the API (clients reaching it there need --fingerprint; remove tls.crt and tls.key to make a new one)",
			"missing", m, "cert", id.CertPath)
	}
	info := []any{"tls", "on", "tls_cert", id.CertPath, "tls_fingerprint", id.Fingerprint()}
	if id.Created {
		log.Info("made a self-signed TLS certificate for the operator API; compare its fingerprint when a client first connects",
			"cert", id.CertPath, "fingerprint", id.Fingerprint(), "names", id.Leaf.DNSNames, "ips", id.Leaf.IPAddresses)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		NextProtos:   []string{"h2", "http/1.1"}, // HTTP/2: every dashboard tab's stream on one connection
		MinVersion:   tls.VersionTLS12,
	}, info, nil
}

// apiURL is the URL clients reach the operator side at, as the log says it.
func apiURL(tc *tls.Config, addr net.Addr) string {
	if tc == nil {
		return "http://" + addr.String()
	}
	return "https://" + addr.String()
}
