package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rackboot/rackboot/tlscert"
	"github.com/spf13/cobra"
)

// newCertCmd shows the operator side's certificate: the data dir's, and
// the one the server presents with whether this client trusts it, so an
// operator can compare fingerprints before trusting a new appliance.
func newCertCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Show the operator API's TLS certificate and its SHA-256 fingerprint",
		Long: `Show the operator API's TLS certificate: the one in the data dir (on the
appliance), and the one the server (--server) presents, with whether this
client trusts it (--ca, --fingerprint, or the data dir's certificate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return showCerts(cmd.Context(), cmd.OutOrStdout(), &cf)
		},
	}
	cf.register(cmd)
	return cmd
}

func showCerts(ctx context.Context, w io.Writer, cf *clientFlags) error {
	path := filepath.Join(cf.dir(), tlscert.CertFile)
	if c, err := tlscert.ReadCert(path); err == nil {
		fmt.Fprintf(w, "data dir certificate %s\n", path)
		describeCert(w, c)
	} else if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "data dir certificate %s: %v\n", path, err)
	}
	server := strings.TrimRight(firstOf(cf.server, os.Getenv("RACKBOOT_SERVER"), defaultServer), "/")
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--server %q: want a URL such as %s", server, defaultServer)
	}
	if u.Scheme != "https" {
		fmt.Fprintf(w, "server %s: plain HTTP, no certificate (the token crosses the network in clear)\n", server)
		return nil
	}
	certs, err := presented(ctx, u)
	if err != nil {
		return fmt.Errorf("server %s: %w", server, err)
	}
	fmt.Fprintf(w, "server %s presents\n", server)
	describeCert(w, certs[0])
	cfg, err := cf.trust().Config(u.Hostname())
	if err != nil {
		return err
	}
	if err := cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: certs}); err != nil {
		fmt.Fprintf(w, "  trusted:     no: %v\n", err)
		return nil
	}
	fmt.Fprintln(w, "  trusted:     yes")
	return nil
}

func describeCert(w io.Writer, c *x509.Certificate) {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	fmt.Fprintf(w, "  fingerprint: %s\n  subject:     %s\n  names:       %s\n  valid:       %s to %s\n",
		tlscert.Fingerprint(c), c.Subject, strings.Join(names, ", "),
		c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly))
}

// presented is the chain the server at u presents, trusted or not: it is
// only shown, never used to send anything.
func presented(ctx context.Context, u *url.URL) ([]*x509.Certificate, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname()}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate presented")
	}
	return certs, nil
}
