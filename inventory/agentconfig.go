package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AgentConfig is one operator-written config for the host agent: a YAML
// resource list and the label selector that assigns it to hosts. The
// inventory keeps the body as text; parsing it is agent/config's job, done
// by the API before it calls PutAgentConfig.
//
// A host's graph is every config whose selector matches its labels. An
// empty selector selects no host, so a config stored without one is inert
// rather than applied to the whole fleet by accident.
type AgentConfig struct {
	Name      string            `json:"name"`
	Selector  map[string]string `json:"selector"` // every k=v must match the host's labels
	Body      string            `json:"body"`
	Version   uint64            `json:"version"` // store-wide revision, increases on every change
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// EventAgentConfig is the type of the event written to a host's log when a
// config that selects it (before or after the change) is stored or removed.
const EventAgentConfig = "agent-config"

// MaxAgentConfigBytes bounds one config body.
const MaxAgentConfigBytes = 1 << 20

var (
	bucketAgentConfigs = []byte("agent_configs")
	configNameRE       = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)
)

// Selects reports whether the config applies to a host with these labels.
func (c *AgentConfig) Selects(labels map[string]string) bool {
	if len(c.Selector) == 0 {
		return false
	}
	for k, v := range c.Selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// selected keeps the records of all (agent configs, user-data parts)
// whose selector selects a host with these labels, in all's order; it
// reuses all's array.
func selected[T any, P interface {
	*T
	Selects(map[string]string) bool
}](all []T, labels map[string]string) []T {
	out := all[:0]
	for i := range all {
		if P(&all[i]).Selects(labels) {
			out = append(out, all[i])
		}
	}
	return out
}

// Validate checks the name, the selector and the body's size; it does not
// parse the body.
func (c *AgentConfig) Validate() error {
	if !configNameRE.MatchString(c.Name) {
		return invalid("name", "%q must be 1-64 lowercase letters, digits, '.', '_' or '-'", c.Name)
	}
	for k, v := range c.Selector {
		if !labelKeyRE.MatchString(k) {
			return invalid("selector", "key %q must be 1-64 letters, digits, '.', '_', '-' or '/'", k)
		}
		if len(v) > 256 {
			return invalid("selector", "value of %q is longer than 256 bytes", k)
		}
	}
	if len(c.Body) > MaxAgentConfigBytes {
		return invalid("body", "%d bytes, more than %d", len(c.Body), MaxAgentConfigBytes)
	}
	return nil
}

func (c AgentConfig) clone() AgentConfig {
	c.Selector = maps.Clone(c.Selector)
	return c
}

// AgentConfig returns the stored config with this name.
func (db *DB) AgentConfig(_ context.Context, name string) (AgentConfig, error) {
	var c AgentConfig
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		c, err = getAgentConfig(tx, name)
		return err
	})
	return c, err
}

// AgentConfigs returns every stored config, ordered by name.
func (db *DB) AgentConfigs(_ context.Context) ([]AgentConfig, error) {
	out := []AgentConfig{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgentConfigs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			c, err := decodeAgentConfig(k, v)
			out = append(out, c)
			return err
		})
	})
	return out, err
}

// AgentConfigsFor returns the configs that select a host with these
// labels, ordered by name: the host's graph, before merging.
func (db *DB) AgentConfigsFor(ctx context.Context, labels map[string]string) ([]AgentConfig, error) {
	all, err := db.AgentConfigs(ctx)
	if err != nil {
		return nil, err
	}
	return selected(all, labels), nil
}

func getAgentConfig(tx *bolt.Tx, name string) (AgentConfig, error) {
	var v []byte
	if b := tx.Bucket(bucketAgentConfigs); b != nil {
		v = b.Get([]byte(name))
	}
	if v == nil {
		return AgentConfig{}, fmt.Errorf("agent config %s: %w", name, ErrNotFound)
	}
	return decodeAgentConfig([]byte(name), v)
}

func decodeAgentConfig(k, v []byte) (AgentConfig, error) {
	var c AgentConfig
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("decode agent config %s: %w", k, err)
	}
	return c, nil
}
