package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Report is the agent's status as the appliance stores it on the host.
type Report struct {
	Status        string           `json:"status"` // converged or unconverged
	Message       string           `json:"message,omitempty"`
	ConfigVersion string           `json:"config_version,omitempty"` // the graph running
	ConfigError   string           `json:"config_error,omitempty"`   // why a newer one is not
	Resources     []ResourceStatus `json:"resources,omitempty"`
}

// ResourceStatus is one resource of the running graph.
type ResourceStatus struct {
	Resource   string    `json:"resource"` // kind:name
	State      string    `json:"state"`    // pending, applying, ok, drift, failed
	Error      string    `json:"error,omitempty"`
	LastChange time.Time `json:"last_change,omitzero"`
	Applies    int       `json:"applies,omitempty"`
}

// Report posts the agent's status and returns the host's lifecycle state
// as the appliance now has it (a deployed host's first report makes it
// active).
func (c *Client) Report(ctx context.Context, r Report) (string, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/machine/v1/agent/status", nil, body)
	if err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	var ans struct{ State string }
	if err := decode(resp, &ans); err != nil {
		return "", fmt.Errorf("report status: %w", err)
	}
	return ans.State, nil
}

// Binary writes the appliance's rackboot executable to w.
func (c *Client) Binary(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, "/machine/v1/agent/binary", nil, nil)
	if err != nil {
		return fmt.Errorf("download binary: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("download binary: %w", err)
	}
	return nil
}
