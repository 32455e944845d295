package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	bolt "go.etcd.io/bbolt"
)

// CreateAgentConfig stores a new config; ErrExists if the name is taken.
func (db *DB) CreateAgentConfig(ctx context.Context, c AgentConfig, actor string) (AgentConfig, error) {
	stored, _, err := db.putAgentConfig(ctx, c, actor, func(old *AgentConfig) error {
		if old != nil {
			return fmt.Errorf("agent config %s: %w", c.Name, ErrExists)
		}
		return nil
	})
	return stored, err
}

// PutAgentConfig creates or replaces a config and reports whether it was
// created. When version is non-zero it must equal the stored version
// (ErrConflict otherwise, also when there is none). Storing what is already
// stored changes nothing: no new version, no event.
func (db *DB) PutAgentConfig(ctx context.Context, c AgentConfig, version uint64, actor string) (AgentConfig, bool, error) {
	return db.putAgentConfig(ctx, c, actor, func(old *AgentConfig) error {
		if version != 0 && (old == nil || old.Version != version) {
			return fmt.Errorf("agent config %s: %w: request was made against version %d", c.Name, ErrConflict, version)
		}
		return nil
	})
}

func (db *DB) putAgentConfig(ctx context.Context, c AgentConfig, actor string, pre func(old *AgentConfig) error) (AgentConfig, bool, error) {
	if err := c.Validate(); err != nil {
		return AgentConfig{}, false, err
	}
	c = c.clone()
	var stored AgentConfig
	var created bool
	changes, err := db.writeAgentConfig(ctx, func(tx *bolt.Tx, b *bolt.Bucket) (*AgentConfig, *AgentConfig, error) {
		old, err := getAgentConfig(tx, c.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
		var oldp *AgentConfig
		if err == nil {
			oldp = &old
		}
		if err := pre(oldp); err != nil {
			return nil, nil, err
		}
		if oldp != nil && old.Body == c.Body && maps.Equal(old.Selector, c.Selector) {
			stored, created = old, false
			return nil, nil, errUnchanged
		}
		next, err := db.storeAgentConfig(b, c, oldp)
		stored, created = next, oldp == nil
		return oldp, &next, err
	}, actor)
	if errors.Is(err, errUnchanged) {
		return stored, false, nil
	}
	if err != nil {
		return AgentConfig{}, false, err
	}
	db.publishAgentConfig(changes)
	return stored, created, nil
}

// storeAgentConfig puts c under a fresh revision, keeping old's creation time.
func (db *DB) storeAgentConfig(b *bolt.Bucket, c AgentConfig, old *AgentConfig) (AgentConfig, error) {
	rev, err := b.NextSequence()
	if err != nil {
		return AgentConfig{}, err
	}
	now := db.now()
	c.Version, c.CreatedAt, c.UpdatedAt = rev, now, now
	if old != nil {
		c.CreatedAt = old.CreatedAt
	}
	v, err := json.Marshal(c)
	if err != nil {
		return AgentConfig{}, fmt.Errorf("encode agent config %s: %w", c.Name, err)
	}
	return c, b.Put([]byte(c.Name), v)
}

// DeleteAgentConfig removes a config; the hosts it selected lose its
// resources on their next graph (the agent stops managing them, it does
// not undo them).
func (db *DB) DeleteAgentConfig(ctx context.Context, name, actor string) error {
	changes, err := db.writeAgentConfig(ctx, func(tx *bolt.Tx, b *bolt.Bucket) (*AgentConfig, *AgentConfig, error) {
		old, err := getAgentConfig(tx, name)
		if err != nil {
			return nil, nil, err
		}
		return &old, nil, b.Delete([]byte(name))
	}, actor)
	if err != nil {
		return err
	}
	db.publishAgentConfig(changes)
	return nil
}

// writeAgentConfig runs fn, which changes one config from old to next (nil
// for none), in one transaction (the bucket is created on first use) that
// also logs an agent-config event on every host either version selects.
// It returns those events for the feed.
func (db *DB) writeAgentConfig(ctx context.Context, fn func(tx *bolt.Tx, b *bolt.Bucket) (old, next *AgentConfig, err error), actor string) ([]Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var changes []Change
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAgentConfigs)
		if err != nil {
			return err
		}
		old, next, err := fn(tx, b)
		if err != nil {
			return err
		}
		changes, err = db.logAgentConfig(tx, old, next, actor)
		return err
	})
	return changes, err
}

// logAgentConfig appends the event to the log of every host that old or
// next selects, and returns one Change per host, the host as indexed now.
func (db *DB) logAgentConfig(tx *bolt.Tx, old, next *AgentConfig, actor string) ([]Change, error) {
	cause := describeConfigChange(old, next)
	var changes []Change
	db.mu.RLock()
	defer db.mu.RUnlock()
	for _, h := range db.sorted {
		if !(old != nil && old.Selects(h.Labels)) && !(next != nil && next.Selects(h.Labels)) {
			continue
		}
		e := Event{Time: db.now(), Type: EventAgentConfig, Cause: cause, Actor: actor}
		if err := appendEvent(tx, h.MAC, &e, db.retention()); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Host: h.Clone(), Event: e})
	}
	return changes, nil
}

func describeConfigChange(old, next *AgentConfig) string {
	switch {
	case next == nil:
		return fmt.Sprintf("config %s removed", old.Name)
	case old == nil:
		return fmt.Sprintf("config %s v%d added", next.Name, next.Version)
	}
	return fmt.Sprintf("config %s v%d replaces v%d", next.Name, next.Version, old.Version)
}

// publishAgentConfig tells subscribers that these hosts' graphs changed:
// an agent long-polling for its graph wakes on a change of its host, the
// same way it wakes when the host's labels change. The host in each Change
// is re-read from the index under its lock, so a newer version committed
// since the transaction is never overtaken by an older one.
func (db *DB) publishAgentConfig(changes []Change) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	for _, c := range changes {
		h, ok := db.hosts[c.Host.MAC]
		if !ok {
			continue
		}
		c.Host = h.Clone()
		db.feed.publish(c)
	}
}
