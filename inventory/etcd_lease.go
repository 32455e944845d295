package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
)

// ErrFenced is a lease write refused because the writer no longer holds
// the DHCP authority its fence names (another appliance was elected).
var ErrFenced = errors.New("not the DHCP leader any more")

// Fence guards lease writes with an election: a write commits only while
// Key still exists with CreateRevision Rev, that is, while the campaign
// that won is still the leader (concurrency.Election's Key and Rev).
type Fence struct {
	Key string
	Rev int64
}

// Leases implements Store. The interface has no context, and a new DHCP
// leader that lost etcd right after winning must not wait for it forever:
// the read gives up after leaseReadTimeout.
func (s *Etcd) Leases() ([]Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), leaseReadTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.key("leases/"), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	out := make([]Lease, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var l Lease
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			return nil, fmt.Errorf("decode lease %s: %w", kv.Key, err)
		}
		out = append(out, l)
	}
	return out, nil
}

const leaseReadTimeout = 30 * time.Second

// WriteLeases implements Store, unfenced (a single appliance, or proxy
// mode, which stores no lease).
func (s *Etcd) WriteLeases(ctx context.Context, changes []LeaseChange) error {
	return s.writeLeases(ctx, nil, changes)
}

// FencedLeases is the LeaseStore of an elected DHCP server: every write
// fails with ErrFenced once f's campaign is no longer the leader.
func (s *Etcd) FencedLeases(f Fence) LeaseStore { return fencedLeases{s, f} }

type fencedLeases struct {
	s *Etcd
	f Fence
}

func (l fencedLeases) Leases() ([]Lease, error) { return l.s.Leases() }

func (l fencedLeases) WriteLeases(ctx context.Context, changes []LeaseChange) error {
	return l.s.writeLeases(ctx, &l.f, changes)
}

func (s *Etcd) leaseKey(ip netip.Addr) string { return s.key("leases/" + ip.String()) }

// writeLeases applies the changes. A batch larger than one transaction
// may hold (MaxTxnOps) is split; each part is all or nothing, and the
// parts commit side by side: leaseOps leaves one operation per address,
// so they touch different keys and their order does not matter.
func (s *Etcd) writeLeases(ctx context.Context, f *Fence, changes []LeaseChange) error {
	ops, err := s.leaseOps(changes)
	if err != nil {
		return err
	}
	var cmps []clientv3.Cmp
	if f != nil {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Rev))
	}
	per := s.opts.MaxTxnOps
	if per <= 0 {
		per = 128
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for part := range slices.Chunk(ops, per) {
		g.Go(func() error {
			resp, err := s.cli.Txn(gctx).If(cmps...).Then(part...).Commit()
			if err != nil {
				return fmt.Errorf("write leases: %w", err)
			}
			if !resp.Succeeded {
				return fmt.Errorf("write leases: %w (election key %s)", ErrFenced, f.Key)
			}
			return nil
		})
	}
	return g.Wait()
}

// leaseOps deletes before it puts within each change, as the bbolt store
// does, and drops a delete of an address the same batch puts later (etcd
// refuses a transaction that names one key twice).
func (s *Etcd) leaseOps(changes []LeaseChange) ([]clientv3.Op, error) {
	final := map[string]*string{} // key → value, nil for a delete
	var order []string
	set := func(k string, v *string) {
		if _, seen := final[k]; !seen {
			order = append(order, k)
		}
		final[k] = v
	}
	for _, c := range changes {
		for _, ip := range c.Delete {
			set(s.leaseKey(ip), nil)
		}
		for i := range c.Put {
			l := &c.Put[i]
			if !l.IP.Is4() {
				return nil, fmt.Errorf("lease %v: %w: not an IPv4 address", l.IP, ErrInvalid)
			}
			v, err := json.Marshal(l)
			if err != nil {
				return nil, fmt.Errorf("encode lease %v: %w", l.IP, err)
			}
			str := string(v)
			set(s.leaseKey(l.IP), &str)
		}
	}
	ops := make([]clientv3.Op, 0, len(order))
	for _, k := range order {
		if v := final[k]; v != nil {
			ops = append(ops, clientv3.OpPut(k, *v))
		} else {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	return ops, nil
}
