package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// reload reads every host at one revision and replaces the index with
// them. Subscribers are dropped (their channels closed), as when one falls
// behind: they cannot be told what changed while nobody watched, so they
// re-read the store and subscribe again.
func (s *Etcd) reload(ctx context.Context) error {
	resp, err := s.cli.Get(ctx, s.key("hosts/"), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("load hosts: %w", err)
	}
	ix := hostIndex{hosts: make(map[string]*Host, len(resp.Kvs))}
	for _, kv := range resp.Kvs {
		r, err := decodeEtcdRecord(kv)
		if err != nil {
			return err
		}
		ix.index(&r.Host)
	}
	s.mu.Lock()
	s.hostIndex = ix
	s.advance(resp.Header.Revision)
	s.mu.Unlock()
	s.feed.closeAll()
	return nil
}

func decodeEtcdRecord(kv *mvccpb.KeyValue) (record, error) {
	r, err := decodeRecord(kv.Value)
	if err != nil {
		return r, fmt.Errorf("%s: %w", kv.Key, err)
	}
	r.Version = uint64(kv.ModRevision)
	return r, nil
}

// advance records that the index has applied rev. Caller holds mu.
func (s *Etcd) advance(rev int64) {
	if rev <= s.applied {
		return
	}
	s.applied = rev
	close(s.progress)
	s.progress = make(chan struct{})
}

// waitApplied waits until the index has applied rev, so that a writer
// reads its own write from memory.
func (s *Etcd) waitApplied(ctx context.Context, rev int64) error {
	for {
		s.mu.RLock()
		applied, ch := s.applied, s.progress
		s.mu.RUnlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for the index to apply revision %d: %w", rev, ctx.Err())
		}
	}
}

// follow watches the prefix from the revision after the last applied one
// until ctx ends. A watch that breaks (a member lost, no leader) is opened
// again from where it stopped; a compacted revision reloads the index.
func (s *Etcd) follow(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		err := s.watch(ctx)
		if errors.Is(err, rpctypes.ErrCompacted) {
			s.log.Warn("inventory watch: revision compacted, reloading", "err", err)
			if err := s.reload(ctx); err != nil {
				s.log.Error("inventory reload failed", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		if ctx.Err() == nil {
			s.log.Warn("inventory watch broke, resuming", "err", err)
			sleepCtx(ctx, 200*time.Millisecond)
		}
	}
}

// watch applies changes from one Watch until it ends.
func (s *Etcd) watch(ctx context.Context) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	from := int64(s.Revision()) + 1
	wch := s.cli.Watch(wctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(from),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("watch from %d: %w (compacted to %d)", from, rpctypes.ErrCompacted, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return err
		}
		s.apply(resp.Events, resp.Header.Revision, resp.IsProgressNotify())
	}
	return ctx.Err()
}

// apply turns one watch response into index changes and feed messages.
// The events of one transaction share a revision: a host's record and the
// event logged with it become one Change.
func (s *Etcd) apply(evs []*clientv3.Event, header int64, progress bool) {
	var changes []Change
	s.mu.Lock()
	last := int64(0)
	for _, ev := range evs {
		if c, ok := s.applyOne(ev, changes); ok {
			changes = append(changes, c)
		}
		last = ev.Kv.ModRevision
	}
	if progress {
		last = max(last, header)
	}
	s.advance(last)
	s.mu.Unlock()
	for _, c := range changes {
		s.feed.publish(c)
	}
}

// applyOne applies one key's change to the index. It returns a new
// Change, or merges an event into the Change of its host's record written
// in the same transaction (then ok is false). Caller holds mu.
func (s *Etcd) applyOne(ev *clientv3.Event, pending []Change) (Change, bool) {
	kind, rest, _ := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), s.prefix), "/")
	rev := ev.Kv.ModRevision
	switch {
	case kind == "hosts" && ev.Type == clientv3.EventTypePut:
		r, err := decodeEtcdRecord(ev.Kv)
		if err != nil {
			s.log.Error("inventory watch: undecodable host", "err", err)
			return Change{}, false
		}
		s.index(&r.Host)
		return Change{Host: r.Host.Clone(), Revision: uint64(rev)}, true
	case kind == "hosts":
		var old Host
		if ev.PrevKv != nil {
			if r, err := decodeEtcdRecord(ev.PrevKv); err == nil {
				old = r.Host
			}
		}
		old.MAC, old.Version = rest, uint64(rev)
		s.unindex(rest, uint64(rev))
		return Change{Host: old, Deleted: true, Event: Event{Type: EventDeleted, From: old.State}, Revision: uint64(rev)}, true
	case (kind == "events" || kind == "chatter") && ev.Type == clientv3.EventTypePut:
		return s.eventChange(ev, rest, pending)
	case kind == "values" && ev.Type == clientv3.EventTypePut:
		return s.valueChange(ev, rest, pending)
	}
	return Change{}, false
}

func (s *Etcd) eventChange(ev *clientv3.Event, rest string, pending []Change) (Change, bool) {
	mac, _, _ := strings.Cut(rest, "/")
	var e Event
	if err := json.Unmarshal(ev.Kv.Value, &e); err != nil {
		s.log.Error("inventory watch: undecodable event", "key", string(ev.Kv.Key), "err", err)
		return Change{}, false
	}
	rev := uint64(ev.Kv.ModRevision)
	for i := range pending {
		if c := &pending[i]; c.Revision == rev && c.Host.MAC == mac && !c.Deleted {
			c.Event = e
			return Change{}, false
		}
	}
	h, ok := s.hosts[mac]
	if !ok {
		return Change{}, false
	}
	return Change{Host: h.Clone(), Event: e, Revision: rev}, true
}

// Sync waits until the index has applied every write committed to etcd
// before the call: a reader on this appliance then sees what another
// appliance wrote before it asked.
func (s *Etcd) Sync(ctx context.Context) error {
	resp, err := s.cli.Get(ctx, s.key("seal-check"), clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("sync inventory: %w", err)
	}
	rev := resp.Header.Revision
	// The watch reports only changes under the prefix; a progress
	// notification moves the index past writes elsewhere.
	s.mu.RLock()
	applied := s.applied
	s.mu.RUnlock()
	if applied < rev {
		if err := s.cli.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
			return fmt.Errorf("sync inventory: %w", err)
		}
	}
	return s.waitApplied(ctx, rev)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
