package inventory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdOptions says where an Etcd store keeps the inventory. Endpoints
// and SealKey are required; the rest has defaults.
type EtcdOptions struct {
	Endpoints []string
	// Prefix is put before every key; default "/rackboot/". Appliances
	// that share an inventory share the prefix.
	Prefix string
	// TLS is the client's TLS config (client certificate, CA); nil
	// speaks plain HTTP to the endpoints.
	TLS *tls.Config
	// SealKey is the 32-byte key that seals BMC passwords and seeds and
	// from which token keys derive. Every appliance on one inventory must
	// hold the same; Open refuses a different one (ErrSealKey).
	SealKey        []byte
	Logger         *slog.Logger     // silent when nil
	Now            func() time.Time // clock; time.Now when nil
	EventRetention int              // events kept per host and class; default 1000
	// MaxTxnOps is the most operations rackboot puts in one transaction
	// (etcd's --max-txn-ops, 128 by default); a larger batch of lease
	// writes is split.
	MaxTxnOps   int
	DialTimeout time.Duration // default 5s
	// StartTimeout bounds the first reads (the key check, the hosts):
	// etcd out of reach, or refusing this client, stops OpenEtcd with an
	// error rather than waiting; default 15s.
	StartTimeout time.Duration
}

// ErrSealKey is a sealing key other than the one the shared inventory
// was sealed with.
var ErrSealKey = errors.New("sealing key differs from the inventory's")

// Etcd is the Store of several appliances sharing one inventory in etcd.
// Every domain action is one etcd transaction guarded by compare-and-swap
// on the mod revisions of the keys it read; a host's Version is the
// revision its record was last written at. Each appliance keeps the hosts
// in memory, following etcd's Watch from the revision it loaded; a write
// returns once this appliance's index has applied it, so a reader after a
// writer sees the write.
//
// Keys under Prefix: hosts/MAC (the record), events/MAC/SEQ and
// chatter/MAC/SEQ (the two classes of a host's log), evseq/MAC (the log's
// sequence and counts), leases/IP, configs/NAME, userdata/NAME,
// values/MAC/KEY, seal-check.
type Etcd struct {
	cli    *clientv3.Client
	prefix string
	seal   *sealer
	opts   EtcdOptions
	log    *slog.Logger
	feed   feed
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.RWMutex
	hostIndex
	applied  int64         // the revision the index has applied
	progress chan struct{} // closed and replaced when applied moves
}

var _ Store = (*Etcd)(nil)

// OpenEtcd connects to etcd, checks the sealing key against the
// inventory's, loads the hosts and follows their changes until Close.
func OpenEtcd(ctx context.Context, opts EtcdOptions) (*Etcd, error) {
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("open etcd inventory: %w: no endpoints", ErrInvalid)
	}
	seal, err := newSealer(opts.SealKey)
	if err != nil {
		return nil, fmt.Errorf("open etcd inventory: sealing key: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints, TLS: opts.TLS, Context: context.WithoutCancel(ctx),
		DialTimeout: cmpDuration(opts.DialTimeout, 5*time.Second), Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("open etcd inventory %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	s := &Etcd{cli: cli, prefix: etcdPrefix(opts.Prefix), seal: seal, opts: opts, log: opts.Logger,
		hostIndex: hostIndex{hosts: map[string]*Host{}}, progress: make(chan struct{}), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	sctx, cancel := context.WithTimeout(ctx, cmpDuration(opts.StartTimeout, 15*time.Second))
	defer cancel()
	err = s.checkSealKey(sctx)
	if err == nil {
		err = s.reload(sctx)
	}
	if err != nil {
		cli.Close()
		if sctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("open etcd inventory: etcd at %s did not answer within %v (unreachable, or refusing this client: check --etcd-cert, --etcd-key, --etcd-ca): %w",
				strings.Join(opts.Endpoints, ","), cmpDuration(opts.StartTimeout, 15*time.Second), err)
		}
		return nil, fmt.Errorf("open etcd inventory: %w", err)
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.follow(fctx)
	return s, nil
}

func etcdPrefix(p string) string {
	if p == "" {
		return "/rackboot/"
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Client is the etcd client the store uses, for the parts of an appliance
// that share the cluster (registration, elections).
func (s *Etcd) Client() *clientv3.Client { return s.cli }

// Prefix is the key prefix of this inventory.
func (s *Etcd) Prefix() string { return s.prefix }

// Close stops following etcd, ends every subscription and closes the
// client.
func (s *Etcd) Close() error {
	s.cancel()
	<-s.done
	s.feed.closeAll()
	return s.cli.Close()
}

func (s *Etcd) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Etcd) retention() int {
	if s.opts.EventRetention > 0 {
		return s.opts.EventRetention
	}
	return 1000
}

// DeriveKey implements Store.
func (s *Etcd) DeriveKey(purpose string) []byte { return s.seal.derive(purpose) }

// Revision implements Store: the etcd revision the index has applied.
func (s *Etcd) Revision() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uint64(s.applied)
}

// Subscribe implements Store.
func (s *Etcd) Subscribe(ctx context.Context) <-chan Change { return s.feed.subscribe(ctx) }

// Host implements Store.
func (s *Etcd) Host(_ context.Context, mac string) (Host, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.hosts[mac]
	if !ok {
		return Host{}, fmt.Errorf("host %s: %w", mac, ErrNotFound)
	}
	return h.Clone(), nil
}

// Hosts implements Store.
func (s *Etcd) Hosts(_ context.Context, q Query) (Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return q.page(s.sorted), nil
}

// CountByState implements Store.
func (s *Etcd) CountByState() map[State]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := make(map[State]int, len(States))
	for _, h := range s.hosts {
		n[h.State]++
	}
	return n
}
