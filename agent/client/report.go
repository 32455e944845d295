package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Report posts the agent's status and returns the host's lifecycle state
// as the appliance now has it (a deployed host's first report makes it
// active).
func (c *Client) Report(ctx context.Context, r machineapi.AgentReport) (string, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, machineapi.PathAgentStatus, nil, body)
	if err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	var ans machineapi.AgentState
	if err := decode(resp, &ans); err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	return ans.State, nil
}

// Binary writes the appliance's rackboot executable to w.
func (c *Client) Binary(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, machineapi.PathAgentBinary, nil, nil)
	if err != nil {
		return fmt.Errorf("download binary: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("download binary: %w", err)
	}
	return nil
}

// Publish sends a value the host exports (an export resource) to the
// appliance, which keeps it for other hosts' configs. A value the
// appliance refuses (not one line of printable text, too long, a bad
// key) comes back as a *StatusError saying why.
func (c *Client) Publish(ctx context.Context, key, value string) error {
	body, err := json.Marshal(machineapi.Export{Key: key, Value: value})
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, machineapi.PathAgentExport, nil, body)
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	resp.Body.Close()
	return nil
}
