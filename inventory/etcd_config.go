package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
)

func (s *Etcd) configKey(name string) string { return s.key("configs/" + name) }

func decodeEtcdConfig(kv *mvccpb.KeyValue) (AgentConfig, error) {
	c, err := decodeAgentConfig(kv.Key, kv.Value)
	c.Version = uint64(kv.ModRevision)
	return c, err
}

// AgentConfig implements Store.
func (s *Etcd) AgentConfig(ctx context.Context, name string) (AgentConfig, error) {
	c, _, err := s.readConfig(ctx, name)
	if err == nil && c == nil {
		return AgentConfig{}, fmt.Errorf("agent config %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return AgentConfig{}, err
	}
	return *c, nil
}

// readConfig returns the stored config (nil when there is none) and its
// mod revision.
func (s *Etcd) readConfig(ctx context.Context, name string) (*AgentConfig, int64, error) {
	resp, err := s.cli.Get(ctx, s.configKey(name))
	if err != nil {
		return nil, 0, fmt.Errorf("agent config %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	c, err := decodeEtcdConfig(resp.Kvs[0])
	return &c, resp.Kvs[0].ModRevision, err
}

// AgentConfigs implements Store.
func (s *Etcd) AgentConfigs(ctx context.Context) ([]AgentConfig, error) {
	return listEtcd(ctx, s, "configs/", "agent configs", decodeEtcdConfig)
}

// listEtcd reads and decodes every record under prefix, in key order
// (by name); what names them in an error.
func listEtcd[T any](ctx context.Context, s *Etcd, prefix, what string, decode func(*mvccpb.KeyValue) (T, error)) ([]T, error) {
	resp, err := s.cli.Get(ctx, s.key(prefix), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := []T{}
	for _, kv := range resp.Kvs {
		v, err := decode(kv)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// AgentConfigsFor implements Store.
func (s *Etcd) AgentConfigsFor(ctx context.Context, labels map[string]string) ([]AgentConfig, error) {
	all, err := s.AgentConfigs(ctx)
	if err != nil {
		return nil, err
	}
	return selected(all, labels), nil
}

// CreateAgentConfig implements Store.
func (s *Etcd) CreateAgentConfig(ctx context.Context, c AgentConfig, actor string) (AgentConfig, error) {
	stored, _, err := s.putAgentConfig(ctx, c, actor, func(old *AgentConfig) error {
		if old != nil {
			return fmt.Errorf("agent config %s: %w", c.Name, ErrExists)
		}
		return nil
	})
	return stored, err
}

// PutAgentConfig implements Store.
func (s *Etcd) PutAgentConfig(ctx context.Context, c AgentConfig, version uint64, actor string) (AgentConfig, bool, error) {
	return s.putAgentConfig(ctx, c, actor, func(old *AgentConfig) error {
		if version != 0 && (old == nil || old.Version != version) {
			return fmt.Errorf("agent config %s: %w: request was made against version %d", c.Name, ErrConflict, version)
		}
		return nil
	})
}

// putAgentConfig stores c in one transaction guarded by the mod revision
// of the config it read. The agent-config events on the hosts either
// version selects follow in their own transactions: one per host, since
// a fleet's worth would pass etcd's limit of operations per transaction.
func (s *Etcd) putAgentConfig(ctx context.Context, c AgentConfig, actor string, pre func(old *AgentConfig) error) (AgentConfig, bool, error) {
	if err := c.Validate(); err != nil {
		return AgentConfig{}, false, err
	}
	c = c.clone()
	var stored AgentConfig
	var old *AgentConfig
	err := retry(ctx, "put agent config "+c.Name, func() (bool, error) {
		var rev int64
		var err error
		if old, rev, err = s.readConfig(ctx, c.Name); err != nil {
			return false, err
		}
		if err := pre(old); err != nil {
			return false, err
		}
		if old != nil && old.Body == c.Body && maps.Equal(old.Selector, c.Selector) {
			stored = *old
			return false, errUnchanged
		}
		next := c
		now := s.now()
		next.Version, next.CreatedAt, next.UpdatedAt = 0, now, now
		if old != nil {
			next.CreatedAt = old.CreatedAt
		}
		v, err := json.Marshal(next)
		if err != nil {
			return false, fmt.Errorf("encode agent config %s: %w", c.Name, err)
		}
		resp, ok, err := s.commit(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.configKey(c.Name)), "=", rev)},
			[]clientv3.Op{clientv3.OpPut(s.configKey(c.Name), string(v))}, nil)
		if ok {
			next.Version = uint64(resp.Header.Revision)
			stored = next
		}
		return ok, err
	})
	if errors.Is(err, errUnchanged) {
		return stored, false, nil
	}
	if err != nil {
		return AgentConfig{}, false, err
	}
	s.logAgentConfig(ctx, old, &stored, actor)
	return stored, old == nil, nil
}

// DeleteAgentConfig implements Store.
func (s *Etcd) DeleteAgentConfig(ctx context.Context, name, actor string) error {
	var old *AgentConfig
	err := retry(ctx, "delete agent config "+name, func() (bool, error) {
		var rev int64
		var err error
		if old, rev, err = s.readConfig(ctx, name); err != nil || old == nil {
			return false, cmpErr(err, fmt.Errorf("agent config %s: %w", name, ErrNotFound))
		}
		_, ok, err := s.commit(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.configKey(name)), "=", rev)},
			[]clientv3.Op{clientv3.OpDelete(s.configKey(name))}, nil)
		return ok, err
	})
	if err != nil {
		return err
	}
	s.logAgentConfig(ctx, old, nil, actor)
	return nil
}

// configEventWriters is how many hosts' agent-config events are written
// at once. Each is a transaction of its own (a host's event log is its
// own compare-and-swap); one after another, a config selecting 2,000
// hosts took 1 min 51 s to log on a loaded 3-member cluster (the scale
// run in docs/benchmarks.md), and the hosts re-render only once theirs is
// written.
const configEventWriters = 32

// logAgentConfig appends the agent-config event to every host that old or
// next selects, configEventWriters at a time; the feed carries each to
// subscribers. A host that went away meanwhile is skipped; another
// failure is logged, not returned: the config itself is stored.
func (s *Etcd) logAgentConfig(ctx context.Context, old, next *AgentConfig, actor string) {
	cause := describeConfigChange(old, next)
	var macs []string
	s.mu.RLock()
	for _, h := range s.sorted {
		if (old != nil && old.Selects(h.Labels)) || (next != nil && next.Selects(h.Labels)) {
			macs = append(macs, h.MAC)
		}
	}
	s.mu.RUnlock()
	var g errgroup.Group
	g.SetLimit(configEventWriters)
	for _, mac := range macs {
		g.Go(func() error {
			err := s.AppendEvent(ctx, mac, Event{Time: s.now(), Type: EventAgentConfig, Cause: cause, Actor: actor})
			if err != nil && !errors.Is(err, ErrNotFound) {
				s.log.Error("agent config event not logged", "host", mac, "err", err)
			}
			return nil
		})
	}
	g.Wait()
}
