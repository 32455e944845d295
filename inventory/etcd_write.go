package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxAttempts bounds how often a write re-reads and retries after another
// appliance's write won the compare-and-swap.
const maxAttempts = 64

func (s *Etcd) key(parts ...string) string {
	k := s.prefix
	for i, p := range parts {
		if i > 0 {
			k += "/"
		}
		k += p
	}
	return k
}

func (s *Etcd) hostKey(mac string) string { return s.key("hosts/" + mac) }

// commit runs one transaction: ops if every compare holds, elseOps
// otherwise. On success it waits until the index has applied the
// transaction's revision. ok is false when a compare failed.
func (s *Etcd) commit(ctx context.Context, cmps []clientv3.Cmp, ops, elseOps []clientv3.Op) (*clientv3.TxnResponse, bool, error) {
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Else(elseOps...).Commit()
	if err != nil {
		return nil, false, fmt.Errorf("etcd transaction: %w", err)
	}
	if !resp.Succeeded {
		return resp, false, nil
	}
	return resp, true, s.waitApplied(ctx, resp.Header.Revision)
}

// retry runs attempt until it commits (done), fails, or keeps losing the
// compare-and-swap to other writers.
func retry(ctx context.Context, what string, attempt func() (done bool, err error)) error {
	for i := range maxAttempts {
		done, err := attempt()
		if err != nil || done {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Duration(i) * time.Millisecond) // back off from a busy key
	}
	return fmt.Errorf("%s: %w: lost the compare-and-swap %d times to other writers", what, ErrConflict, maxAttempts)
}

// readTxn commits a transaction that only reads, again while etcd
// answers that its leader changed or is being elected (a member lost):
// a read changes nothing, so it is safe to repeat, and an election takes
// a second or two. A write is not repeated: it may have been applied.
func readTxn(ctx context.Context, txn clientv3.Txn) (*clientv3.TxnResponse, error) {
	for i := 0; ; i++ {
		resp, err := txn.Commit()
		if err == nil || i >= 50 || !transient(err) {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func transient(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaderChanged) || errors.Is(err, rpctypes.ErrNoLeader) ||
		errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail)
}

// hostRead is what a write of a host read: its record (when found) and
// its event log's state, each with the mod revision the write's
// transaction compares.
type hostRead struct {
	rec     record
	found   bool
	rev     int64 // the record's mod revision; 0 when absent
	created int64 // the record key's create revision
	log     eventLog
	logRev  int64
}

func (s *Etcd) readHost(ctx context.Context, mac string) (hostRead, error) {
	hr, _, err := s.readHostWith(ctx, mac)
	return hr, err
}

// readHostWith reads the host as readHost does and, at the same
// revision, the extra ranges, whose answers it returns in order.
func (s *Etcd) readHostWith(ctx context.Context, mac string, extra ...clientv3.Op) (hostRead, []*etcdserverpb.ResponseOp, error) {
	var hr hostRead
	ops := append([]clientv3.Op{clientv3.OpGet(s.hostKey(mac)), clientv3.OpGet(s.evseqKey(mac))}, extra...)
	resp, err := readTxn(ctx, s.cli.Txn(ctx).Then(ops...))
	if err != nil {
		return hr, nil, fmt.Errorf("read host %s: %w", mac, err)
	}
	err = hr.decode(mac, resp)
	return hr, resp.Responses[2:], err
}

func (hr *hostRead) decode(mac string, resp *clientv3.TxnResponse) error {
	var err error
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		if hr.rec, err = decodeEtcdRecord(kvs[0]); err != nil {
			return err
		}
		hr.found, hr.rev, hr.created = true, kvs[0].ModRevision, kvs[0].CreateRevision
	}
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) == 1 {
		if err := json.Unmarshal(kvs[0].Value, &hr.log); err != nil {
			return fmt.Errorf("host %s: decode event log state: %w", mac, err)
		}
		hr.logRev = kvs[0].ModRevision
	}
	return nil
}

func (hr *hostRead) guards(s *Etcd, mac string) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(s.hostKey(mac)), "=", hr.rev),
		clientv3.Compare(clientv3.ModRevision(s.evseqKey(mac)), "=", hr.logRev),
	}
}

func (s *Etcd) putRecordOp(r *record) (clientv3.Op, error) {
	c := *r
	c.Version = 0 // the key's mod revision is the version
	v, err := json.Marshal(&c)
	if err != nil {
		return clientv3.Op{}, fmt.Errorf("encode host %s: %w", r.MAC, err)
	}
	return clientv3.OpPut(s.hostKey(r.MAC), string(v)), nil
}

// CreateHost implements Store.
func (s *Etcd) CreateHost(ctx context.Context, h Host, actor string) (Host, error) {
	h, err := prepareNewHost(h)
	if err != nil {
		return Host{}, err
	}
	mac := h.MAC
	uid := newUID()
	var out Host
	err = retry(ctx, "create host "+mac, func() (bool, error) {
		hr, err := s.readHost(ctx, mac)
		if err != nil || hr.found {
			return false, cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrExists))
		}
		now := s.now()
		r := record{Host: h.Clone()}
		r.CreatedAt, r.UpdatedAt, r.StateChangedAt = now, now, now
		r.Credentials.UID = uid
		if err := s.seal.sealSecrets(&r, nil); err != nil {
			return false, err
		}
		put, err := s.putRecordOp(&r)
		if err != nil {
			return false, err
		}
		e := Event{Time: now, Type: EventCreated, To: r.State, Actor: actor}
		resp, ok, err := s.commitHost(ctx, mac, &hr, []clientv3.Op{put}, &e)
		if ok {
			r.Version = uint64(resp.Header.Revision)
			out = r.Host
		}
		return ok, err
	})
	return out, err
}

// cmpErr is err, or else the error for a condition found true.
func cmpErr(err, cond error) error {
	if err != nil {
		return err
	}
	return cond
}

// commitHost commits ops on a host read as hr, guarded by the mod
// revisions hr saw, with e (when not nil) appended to the host's log.
func (s *Etcd) commitHost(ctx context.Context, mac string, hr *hostRead, ops []clientv3.Op, e *Event) (*clientv3.TxnResponse, bool, error) {
	cmps := hr.guards(s, mac)
	if e != nil {
		evOps, err := s.appendEventOps(ctx, mac, hr.log, e)
		if err != nil {
			return nil, false, err
		}
		ops = append(ops, evOps...)
	}
	return s.commit(ctx, cmps, ops, nil)
}

// ModifyHost implements Store.
func (s *Etcd) ModifyHost(ctx context.Context, mac string, version uint64, fn func(*Host) (Edit, error)) (Host, error) {
	var out Host
	err := retry(ctx, "modify host "+mac, func() (bool, error) {
		hr, err := s.readHost(ctx, mac)
		if err != nil || !hr.found {
			return false, cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrNotFound))
		}
		r := hr.rec
		if version != 0 && version != r.Version {
			return false, fmt.Errorf("host %s: %w: stored version is %d, request was made against %d", mac, ErrConflict, r.Version, version)
		}
		nr, e, quiet, err := applyEdit(r, fn, s.now())
		if errors.Is(err, errUnchanged) {
			out = r.Host
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if err := s.seal.sealSecrets(&nr, &r); err != nil {
			return false, err
		}
		put, err := s.putRecordOp(&nr)
		if err != nil {
			return false, err
		}
		ev := &e
		if quiet {
			ev = nil
		}
		resp, ok, err := s.commitHost(ctx, mac, &hr, []clientv3.Op{put}, ev)
		if ok {
			nr.Version = uint64(resp.Header.Revision)
			out = nr.Host
		}
		return ok, err
	})
	return out, err
}

// DeleteHost implements Store.
func (s *Etcd) DeleteHost(ctx context.Context, mac, actor string) error {
	return retry(ctx, "delete host "+mac, func() (bool, error) {
		hr, err := s.readHost(ctx, mac)
		if err != nil || !hr.found {
			return false, cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrNotFound))
		}
		ops := []clientv3.Op{
			clientv3.OpDelete(s.hostKey(mac)),
			clientv3.OpDelete(s.evseqKey(mac)),
			clientv3.OpDelete(s.eventPrefix(mac, false), clientv3.WithPrefix()),
			clientv3.OpDelete(s.eventPrefix(mac, true), clientv3.WithPrefix()),
			clientv3.OpDelete(s.valuePrefix(mac), clientv3.WithPrefix()),
		}
		_, ok, err := s.commit(ctx, hr.guards(s, mac), ops, nil)
		return ok, err
	})
}
