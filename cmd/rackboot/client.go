package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/rackboot/rackboot/tlscert"
	"github.com/rackboot/rackboot/web"
	"github.com/spf13/cobra"
)

// apiClient talks to a rackboot's operator API.
type apiClient struct {
	server string
	token  string
	http   *http.Client
}

// clientFlags are shared by every command that is an API client.
type clientFlags struct {
	server, token, dataDir, output string
	ca, fingerprint                string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.server, "server", "", "URL of the rackboot API (default $RACKBOOT_SERVER or "+defaultServer+")")
	p.StringVar(&f.token, "token", "", "operator token (default $RACKBOOT_TOKEN or the data dir's admin.token)")
	p.StringVar(&f.dataDir, "data-dir", "", "data dir to read admin.token from (default $RACKBOOT_DATA_DIR or /var/lib/rackboot)")
	p.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	p.StringVar(&f.ca, "ca", "", "PEM file of the CA (or the certificate itself) to trust the server with (default $RACKBOOT_CA; else the data dir's tls.crt and the system's roots)")
	p.StringVar(&f.fingerprint, "fingerprint", "", "trust only the server certificate with this SHA-256 fingerprint, as serve logs it (default $RACKBOOT_FINGERPRINT)")
}

// defaultServer is the API of a rackboot serve with its defaults, on this
// machine.
const defaultServer = "https://127.0.0.1:8080"

func (f *clientFlags) dir() string {
	return firstOf(f.dataDir, os.Getenv("RACKBOOT_DATA_DIR"), "/var/lib/rackboot")
}

// trust is how the server's certificate is checked: a pinned fingerprint,
// a CA file, or, on the appliance itself, the data dir's certificate.
func (f *clientFlags) trust() tlscert.Trust {
	t := tlscert.Trust{Fingerprint: firstOf(f.fingerprint, os.Getenv("RACKBOOT_FINGERPRINT")), CAFile: firstOf(f.ca, os.Getenv("RACKBOOT_CA"))}
	if p := filepath.Join(f.dir(), tlscert.CertFile); t.Fingerprint == "" && t.CAFile == "" {
		if _, err := os.Stat(p); err == nil {
			t.DataDirCert = p
		}
	}
	return t
}

// httpClient is the client for server with the trust f asks for.
func (f *clientFlags) httpClient(server string) (*http.Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want a URL such as %s", server, defaultServer)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if u.Scheme == "https" {
		if tr.TLSClientConfig, err = f.trust().Config(u.Hostname()); err != nil {
			return nil, err
		}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}, nil
}

func (f *clientFlags) client() (*apiClient, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: want table or json", f.output)
	}
	server := strings.TrimRight(firstOf(f.server, os.Getenv("RACKBOOT_SERVER"), defaultServer), "/")
	hc, err := f.httpClient(server)
	if err != nil {
		return nil, err
	}
	token := firstOf(f.token, os.Getenv("RACKBOOT_TOKEN"))
	if token == "" {
		b, err := os.ReadFile(filepath.Join(f.dir(), web.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("no operator token: pass --token, set RACKBOOT_TOKEN, or point --data-dir at the server's data dir (%w)", err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &apiClient{server: server, token: token, http: hc}, nil
}

// operatorName is user@host of whoever runs the CLI, for the event log
// of the hosts it changes; the token is what authenticates.
func operatorName() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	hn, _ := os.Hostname()
	return u.Username + "@" + hn
}

// connError says why the server could not be reached; a certificate it
// refused is said without the URL noise around it.
func connError(server string, err error) error {
	if errors.Is(err, tlscert.ErrMismatch) {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("rackboot API at %s: refused: %w", server, err)
	}
	if strings.HasPrefix(server, "http://") && strings.Contains(err.Error(), "malformed HTTP response") {
		return fmt.Errorf("rackboot API at %s: it speaks HTTPS; use https:// (%w)", server, err)
	}
	return fmt.Errorf("rackboot API at %s: %w", server, err)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// do sends a request with body in (if not nil) as JSON and decodes a JSON
// answer into out (if not nil).
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(c.http, req, out)
}

// send sends req with the token, turns an error answer into an *apiError
// carrying the API's message, and decodes a JSON answer into out (if not
// nil).
func (c *apiClient) send(hc *http.Client, req *http.Request, out any) error {
	return c.stream(hc, req, func(body io.Reader) error {
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("decode answer of %s %s: %w", req.Method, req.URL.Path, err)
		}
		return nil
	})
}

// stream sends req with the token, turns an error answer into an
// *apiError carrying the API's message, and hands a successful answer's
// body to read (not called for 204).
func (c *apiClient) stream(hc *http.Client, req *http.Request, read func(body io.Reader) error) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "rackboot/"+version)
	if who := operatorName(); who != "" {
		req.Header.Set(web.OperatorHeader, who)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return connError(c.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var e struct{ Error string }
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return &apiError{Status: resp.StatusCode, Message: e.Error}
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return read(resp.Body)
}

// newRmCmd is the `rm` of a collection of the API: DELETE
// /api/v1/COLLECTION/ARG for each argument, stopping at the first refusal.
func newRmCmd(cf *clientFlags, use, short, collection string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			for _, a := range args {
				if err := c.do(cmd.Context(), "DELETE", "/api/v1/"+collection+"/"+url.PathEscape(a), nil, nil); err != nil {
					return fmt.Errorf("rm %s: %w", a, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), "removed", a)
			}
			return nil
		},
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
