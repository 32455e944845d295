package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Lead campaigns for network's DHCP authority until ctx ends. Each time
// this appliance wins, serve runs with a context that ends when the
// leadership is lost or in doubt, and a Fence for its lease writes; when
// serve returns, the appliance resigns and campaigns again.
func (m *Member) Lead(ctx context.Context, network string, serve func(ctx context.Context, f inventory.Fence) error) error {
	for ctx.Err() == nil {
		if err := m.leadOnce(ctx, network, serve); err != nil && ctx.Err() == nil {
			m.log().Warn("dhcp leadership ended", "network", network, "err", err)
		}
		sleep(ctx, 200*time.Millisecond)
	}
	return nil
}

func (m *Member) leadOnce(ctx context.Context, network string, serve func(ctx context.Context, f inventory.Fence) error) error {
	t, err := m.newTerm(ctx)
	if err != nil {
		return err
	}
	defer t.close()
	defer t.revoke() // the key goes at once: another appliance leads without waiting a TTL
	e := concurrency.NewElection(t.session, m.electionPrefix(network))
	// Campaign ends when we lead, or when the session is gone.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	if err := e.Campaign(cctx, m.ID); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	// Campaign can return after our own key went with an expired
	// session; lead only while the key is there.
	f := inventory.Fence{Key: e.Key(), Rev: e.Rev()}
	if err := m.checkFence(cctx, f); err != nil {
		return err
	}
	m.log().Info("dhcp leader", "network", network, "appliance", m.ID, "key", f.Key)
	err = serve(cctx, f)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer rcancel()
	e.Resign(rctx)
	m.log().Info("dhcp leadership given up", "network", network, "appliance", m.ID)
	return err
}

func (m *Member) checkFence(ctx context.Context, f inventory.Fence) error {
	resp, err := m.Client.Get(ctx, f.Key)
	if err != nil {
		return fmt.Errorf("check election key: %w", err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].CreateRevision != f.Rev {
		return fmt.Errorf("election key %s: %w", f.Key, inventory.ErrFenced)
	}
	return nil
}

// leaders maps each network to its leader's appliance id: the key of
// lowest create revision under its election prefix, as etcd's elections
// define it.
func leaders(kvs []*mvccpb.KeyValue, prefix string) map[string]string {
	first := map[string]*mvccpb.KeyValue{}
	for _, kv := range kvs {
		net, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), prefix), "/")
		if !ok {
			continue
		}
		if cur, seen := first[net]; !seen || kv.CreateRevision < cur.CreateRevision {
			first[net] = kv
		}
	}
	out := make(map[string]string, len(first))
	for net, kv := range first {
		out[strings.ReplaceAll(net, "_", "/")] = string(kv.Value)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
