package cluster

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// term is one etcd session of this appliance: a lease kept alive, and a
// watchdog that declares it lost early. etcd expires the lease TTL after
// the last keepalive it received; we declare it lost when no keepalive was
// answered for TTL less a margin, so a leader stops serving before etcd can
// have handed its key to another appliance.
type term struct {
	client  *clientv3.Client
	lease   clientv3.LeaseID
	session *concurrency.Session
	done    chan struct{}
	cancel  context.CancelFunc
}

// Done is closed when the session is lost or in doubt.
func (t *term) Done() <-chan struct{} { return t.done }

// close stops the keepalives; the lease runs out a TTL later.
func (t *term) close() {
	if t == nil {
		return
	}
	t.session.Orphan()
	t.cancel()
}

// revoke ends the lease now, so what it held (a registration, an election
// key) goes at once rather than a TTL later, when etcd answers within a
// second. It has its own context: the caller's may have ended (serve
// stopping). Not for a term merely in doubt: a registration put again on
// the next term must not leave a gap for another appliance's.
func (t *term) revoke() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	t.client.Revoke(ctx, t.lease)
}

func (m *Member) newTerm(ctx context.Context) (*term, error) {
	ttl := m.ttl()
	tctx, cancel := context.WithCancel(ctx)
	grant, err := m.Client.Grant(tctx, int64(ttl/time.Second))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	granted := time.Now()
	ka, err := m.Client.KeepAlive(tctx, grant.ID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	s, err := concurrency.NewSession(m.Client, concurrency.WithLease(grant.ID), concurrency.WithContext(tctx))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	t := &term{client: m.Client, lease: grant.ID, session: s, done: make(chan struct{}), cancel: cancel}
	go t.watch(tctx, ka, granted, ttl-ttl/4)
	return t, nil
}

// watch closes done once the last answered keepalive is older than
// within, or the keepalives end.
func (t *term) watch(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse, last time.Time, within time.Duration) {
	defer close(t.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-ka:
			if !ok || r == nil {
				return
			}
			last = time.Now()
		case <-tick.C:
			if time.Since(last) > within {
				return
			}
		}
	}
}
