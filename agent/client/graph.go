package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Graph returns the host's graph once it differs from version have (the
// empty string for none yet). The appliance holds the request until then
// or until its wait ends; changed is false when it ended with no change.
func (c *Client) Graph(ctx context.Context, have string) (g machineapi.Graph, changed bool, err error) {
	q := url.Values{machineapi.ParamVersion: {have}}
	wait := 25 * time.Second
	if c.Wait > 0 {
		wait = c.Wait
		q.Set(machineapi.ParamWait, c.Wait.String())
	}
	// A poll outlives the appliance's wait only when the connection died
	// without a word (the appliance's host lost power, say).
	ctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, machineapi.PathAgentConfig, q, nil)
	if err != nil {
		return machineapi.Graph{}, false, fmt.Errorf("poll graph: %w", err)
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return machineapi.Graph{}, false, nil
	}
	if err := decode(resp, &g); err != nil {
		return machineapi.Graph{}, false, fmt.Errorf("poll graph: %w", err)
	}
	return g, true, nil
}
