package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Client talks to one appliance for one host. URL, MAC and Token are
// required; the zero value of every other field is the documented default.
type Client struct {
	URL   string // machine-facing base URL, e.g. http://10.0.0.1:8081
	MAC   string // the host's MAC, lowercase and colon-separated
	Token string // the host's agent token
	// HTTP sends the requests; nil means http.DefaultClient. Its Timeout
	// must exceed Wait, or every long-poll fails.
	HTTP *http.Client
	// Wait is how long the appliance may hold a graph poll; 0 means its
	// default (25 s).
	Wait time.Duration
	// UserAgent names the agent in the appliance's logs; default "rackboot-agent".
	UserAgent string
}

// ErrUnauthorized is returned when the appliance refuses the token: it is
// wrong, expired or revoked, or the host was deleted.
var ErrUnauthorized = errors.New("agent token refused")

// StatusError is an answer with an unexpected HTTP status.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	if e.Code == http.StatusUnauthorized {
		return fmt.Sprintf("%v (HTTP 401: %s)", ErrUnauthorized, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// Unwrap makes errors.Is(err, ErrUnauthorized) true for a 401.
func (e *StatusError) Unwrap() error {
	if e.Code == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	return nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends one request to path with the host's credentials; the caller
// closes the body of a 2xx or 304 answer, anything else is an error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set(machineapi.ParamMAC, c.MAC)
	u := strings.TrimRight(c.URL, "/") + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("User-Agent", cmp.Or(c.UserAgent, "rackboot-agent"))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return nil, &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
}

func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
