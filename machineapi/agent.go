package machineapi

import "time"

// Graph is the answer to an agent's config poll: every config that selects
// the host, ordered by name, and a version that names this set. The agent
// parses each config and merges them.
type Graph struct {
	Version string        `json:"version"`
	Configs []GraphConfig `json:"configs"`
}

// GraphConfig is one config of a Graph: a YAML resource list.
type GraphConfig struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Body    string `json:"body"`
}

// AgentReport is the agent's status, posted when its graph converges or
// stops being converged and (debounced) when a resource's state changes.
type AgentReport struct {
	Status        string           `json:"status"` // converged or unconverged
	Message       string           `json:"message,omitempty"`
	ConfigVersion string           `json:"config_version,omitempty"` // the graph running
	ConfigError   string           `json:"config_error,omitempty"`   // why a newer one is not
	Resources     []ResourceStatus `json:"resources,omitempty"`
}

// The statuses of an AgentReport.
const (
	AgentConverged   = "converged"
	AgentUnconverged = "unconverged"
)

// ResourceStatus is one resource of the agent's graph. The appliance
// stores it as it is (inventory.ResourceStatus is this type).
type ResourceStatus struct {
	Resource   string    `json:"resource"` // kind:name
	State      string    `json:"state"`    // pending, applying, ok, drift or failed
	Error      string    `json:"error,omitempty"`
	LastChange time.Time `json:"last_change,omitzero"` // last real change the agent made
	Applies    int       `json:"applies,omitempty"`
}

// AgentState answers an AgentReport with the host's lifecycle state (a
// deployed host's first report makes it active).
type AgentState struct {
	State string `json:"state"`
}

// Export is a value the agent publishes for other hosts' configs to read
// (an export resource; `value "HOST" "KEY"` in a config template). The
// appliance keeps the newest value under each key of each host and
// answers Status "stored", or "unchanged" when it already had it.
type Export struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// The shape of an Export, checked by the agent before it sends one and by
// the appliance, which refuses anything else. A value is one line of
// printable text: it is pasted into other hosts' configs, where a line
// break could add resources to them.
const (
	ExportKeyPattern    = `^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$`
	MaxExportValueBytes = 4096
	MaxExportsPerHost   = 64
)
