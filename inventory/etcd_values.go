package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rackboot/rackboot/machineapi"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The values hosts publish live under values/MAC/KEY, one key each (a
// key's shape, PublishedValue.Validate, keeps it to one path segment).
// A publication writes its value and the host's published event in one
// transaction; the watch turns both into one Change with Value set.

// valuePrefix is host mac's values, with the trailing slash so that one
// MAC is never a prefix of another's keys.
func (s *Etcd) valuePrefix(mac string) string { return s.key("values/" + mac + "/") }

func decodeEtcdValue(kv *mvccpb.KeyValue) (PublishedValue, error) {
	var v PublishedValue
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, fmt.Errorf("decode value %s: %w", kv.Key, err)
	}
	return v, nil
}

// PublishValue implements Store. The transaction compares the host's
// event log, which every publication on the host moves, so the count of
// keys read for the per-host cap still holds when it commits.
func (s *Etcd) PublishValue(ctx context.Context, v PublishedValue, actor string) (PublishedValue, bool, error) {
	if err := v.Validate(); err != nil {
		return PublishedValue{}, false, err
	}
	var stored PublishedValue
	err := retry(ctx, "publish value "+v.Key+" of "+v.MAC, func() (bool, error) {
		hr, extra, err := s.readHostWith(ctx, v.MAC, clientv3.OpGet(s.valuePrefix(v.MAC), clientv3.WithPrefix()))
		if err != nil || !hr.found {
			return false, cmpErr(err, fmt.Errorf("host %s: %w", v.MAC, ErrNotFound))
		}
		kvs := extra[0].GetResponseRange().Kvs
		key := s.valuePrefix(v.MAC) + v.Key
		var keyRev int64
		for _, kv := range kvs {
			if string(kv.Key) != key {
				continue
			}
			old, err := decodeEtcdValue(kv)
			if err != nil {
				return false, err
			}
			if old.Value == v.Value {
				stored = old
				return false, errUnchanged
			}
			keyRev = kv.ModRevision
		}
		if keyRev == 0 && len(kvs) >= machineapi.MaxExportsPerHost {
			return false, invalid("key", "host %s already publishes %d values, the most a host may", v.MAC, machineapi.MaxExportsPerHost)
		}
		next := v
		next.UpdatedAt = s.now()
		enc, err := json.Marshal(next)
		if err != nil {
			return false, fmt.Errorf("encode value %s of %s: %w", v.Key, v.MAC, err)
		}
		e := Event{Time: next.UpdatedAt, Type: EventPublished, Cause: describeValue(&next), Actor: actor}
		evOps, err := s.appendEventOps(ctx, v.MAC, hr.log, &e)
		if err != nil {
			return false, err
		}
		// The host must still be the one read (not deleted and created
		// again); its record may change meanwhile.
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(s.hostKey(v.MAC)), "=", hr.created),
			clientv3.Compare(clientv3.ModRevision(s.evseqKey(v.MAC)), "=", hr.logRev),
			clientv3.Compare(clientv3.ModRevision(key), "=", keyRev),
		}
		ops := append([]clientv3.Op{clientv3.OpPut(key, string(enc))}, evOps...)
		_, ok, err := s.commit(ctx, cmps, ops, nil)
		if ok {
			stored = next
		}
		return ok, err
	})
	if errors.Is(err, errUnchanged) {
		return stored, false, nil
	}
	if err != nil {
		return PublishedValue{}, false, err
	}
	return stored, true, nil
}

// PublishedValues implements Store: host mac's values ordered by key, or
// with mac "" every host's, ordered by MAC and key (etcd returns a range
// in key order, and MACs are of one length).
func (s *Etcd) PublishedValues(ctx context.Context, mac string) ([]PublishedValue, error) {
	prefix := s.key("values/")
	if mac != "" {
		prefix = s.valuePrefix(mac)
	}
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("published values: %w", err)
	}
	out := []PublishedValue{}
	for _, kv := range resp.Kvs {
		v, err := decodeEtcdValue(kv)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// valueChange is a published value seen on the watch: it joins the
// Change of the event written with it in the same transaction, or starts
// it. Caller holds mu.
func (s *Etcd) valueChange(ev *clientv3.Event, rest string, pending []Change) (Change, bool) {
	mac, _, _ := strings.Cut(rest, "/")
	v, err := decodeEtcdValue(ev.Kv)
	if err != nil {
		s.log.Error("inventory watch: undecodable value", "err", err)
		return Change{}, false
	}
	rev := uint64(ev.Kv.ModRevision)
	for i := range pending {
		if c := &pending[i]; c.Revision == rev && c.Host.MAC == mac && !c.Deleted {
			c.Value = &v
			return Change{}, false
		}
	}
	h, ok := s.hosts[mac]
	if !ok {
		return Change{}, false
	}
	return Change{Host: h.Clone(), Revision: rev, Value: &v}, true
}
