package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Graph is the host's desired configuration: every config that selects
// it, ordered by name, and the version naming that set.
type Graph struct {
	Version string   `json:"version"`
	Configs []Config `json:"configs"`
}

// Config is one stored config: a YAML resource list.
type Config struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Body    string `json:"body"`
}

// Graph returns the host's graph once it differs from version have (the
// empty string for none yet). The appliance holds the request until then
// or until its wait ends; changed is false when it ended with no change.
func (c *Client) Graph(ctx context.Context, have string) (g Graph, changed bool, err error) {
	q := url.Values{"version": {have}}
	wait := 25 * time.Second
	if c.Wait > 0 {
		wait = c.Wait
		q.Set("wait", c.Wait.String())
	}
	// A poll outlives the appliance's wait only when the connection died
	// without a word (the appliance's host lost power, say).
	ctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/machine/v1/agent/config", q, nil)
	if err != nil {
		return Graph{}, false, fmt.Errorf("poll graph: %w", err)
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return Graph{}, false, nil
	}
	if err := decode(resp, &g); err != nil {
		return Graph{}, false, fmt.Errorf("poll graph: %w", err)
	}
	return g, true, nil
}
