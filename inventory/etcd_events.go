package inventory

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// eventLog is where a host's log stands in etcd: the last sequence
// number handed out and how many events each class (main, chatter) holds,
// so that trimming to the retention needs no count of keys.
type eventLog struct {
	Seq uint64 `json:"seq"`
	N   [2]int `json:"n"`
}

func (s *Etcd) evseqKey(mac string) string { return s.key("evseq/" + mac) }

// eventPrefix is the prefix of one class of a host's events, with the
// trailing slash so that one MAC is never a prefix of another's keys.
func (s *Etcd) eventPrefix(mac string, chatter bool) string {
	if chatter {
		return s.key("chatter/" + mac + "/")
	}
	return s.key("events/" + mac + "/")
}

func classOf(e *Event) int {
	if e.Chatter() {
		return 1
	}
	return 0
}

// appendEventOps numbers e from the host's log l and returns the ops that
// store it, trim its class to the retention and store the log's new state.
// The caller's transaction compares the log's mod revision, so the oldest
// keys read here are still the oldest when it commits.
func (s *Etcd) appendEventOps(ctx context.Context, mac string, l eventLog, e *Event) ([]clientv3.Op, error) {
	l.Seq++
	e.Seq = l.Seq
	class := classOf(e)
	prefix := s.eventPrefix(mac, class == 1)
	v, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event of %s: %w", mac, err)
	}
	ops := []clientv3.Op{clientv3.OpPut(fmt.Sprintf("%s%016x", prefix, e.Seq), string(v))}
	if over := l.N[class] + 1 - s.retention(); over > 0 {
		old, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(int64(over)))
		if err != nil {
			return nil, fmt.Errorf("trim events of %s: %w", mac, err)
		}
		for _, kv := range old.Kvs {
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		}
		l.N[class] -= len(old.Kvs)
	}
	l.N[class]++
	st, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return append(ops, clientv3.OpPut(s.evseqKey(mac), string(st))), nil
}

// AppendEvent implements Store.
func (s *Etcd) AppendEvent(ctx context.Context, mac string, e Event) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return retry(ctx, "append event to "+mac, func() (bool, error) {
		hr, err := s.readHost(ctx, mac)
		if err != nil || !hr.found {
			return false, cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrNotFound))
		}
		ev := e
		ops, err := s.appendEventOps(ctx, mac, hr.log, &ev)
		if err != nil {
			return false, err
		}
		// The host must still exist; its record may change meanwhile.
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(s.hostKey(mac)), "=", hr.created),
			clientv3.Compare(clientv3.ModRevision(s.evseqKey(mac)), "=", hr.logRev),
		}
		_, ok, err := s.commit(ctx, cmps, ops, nil)
		return ok, err
	})
}

// Events implements Store: both classes, newest first, read at one
// revision.
func (s *Etcd) Events(ctx context.Context, mac string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 2 * s.retention()
	}
	newest := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(limit))}
	resp, err := readTxn(ctx, s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.hostKey(mac), clientv3.WithKeysOnly()),
		clientv3.OpGet(s.eventPrefix(mac, false), newest...),
		clientv3.OpGet(s.eventPrefix(mac, true), newest...),
	))
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", mac, err)
	}
	if len(resp.Responses[0].GetResponseRange().Kvs) == 0 {
		return nil, fmt.Errorf("host %s: %w", mac, ErrNotFound)
	}
	var classes [2][]Event
	for i := range classes {
		for _, kv := range resp.Responses[i+1].GetResponseRange().Kvs {
			var e Event
			if err := json.Unmarshal(kv.Value, &e); err != nil {
				return nil, fmt.Errorf("decode event %s: %w", kv.Key, err)
			}
			classes[i] = append(classes[i], e)
		}
	}
	return mergeNewest(classes[0], classes[1], limit), nil
}

// mergeNewest merges two logs, each newest first, into one of at most
// limit events.
func mergeNewest(a, b []Event, limit int) []Event {
	out := make([]Event, 0, min(limit, len(a)+len(b)))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && a[0].Seq > b[0].Seq) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}
