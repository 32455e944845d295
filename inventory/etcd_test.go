package inventory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// twoAppliances opens two stores on one inventory, as two appliances do.
func twoAppliances(t *testing.T, c *etcdtest.Cluster) (a, b *Etcd, prefix string, key []byte) {
	prefix = "/test/" + rand.Text()[:10] + "/"
	key = make([]byte, 32)
	rand.Read(key)
	return openEtcdTest(t, c, prefix, key, Options{}), openEtcdTest(t, c, prefix, key, Options{}), prefix, key
}

// waitHost waits until s's index shows the host at version v or later.
func waitHost(t *testing.T, s *Etcd, mac string, v uint64) Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		if h, err := s.Host(ctx, mac); err == nil && h.Version >= v {
			return h
		}
		select {
		case <-ctx.Done():
			t.Fatalf("host %s at version %d never reached the other appliance's index", mac, v)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestEtcdAppliancesShareInventory: a host written on one appliance is in
// the other's index and on its feed; concurrent edits of one host from
// both lose nothing (compare-and-swap, retried).
func TestEtcdAppliancesShareInventory(t *testing.T) {
	a, b, _, _ := twoAppliances(t, testCluster(t))
	ctx := t.Context()
	feed := b.Subscribe(ctx)
	h, err := a.CreateHost(ctx, Host{MAC: mac(1), Labels: map[string]string{"n": "0"}}, "a")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-feed:
		if c.Host.MAC != h.MAC || c.Event.Type != EventCreated || c.Revision != h.Version {
			t.Fatalf("b's feed: %+v, want the creation at %d", c, h.Version)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's feed never carried a's write")
	}
	if got := waitHost(t, b, h.MAC, h.Version); got.Credentials.UID != h.Credentials.UID {
		t.Fatalf("b sees %+v", got)
	}
	const each = 25
	var wg sync.WaitGroup
	for _, s := range []*Etcd{a, b} {
		wg.Go(func() {
			for range each {
				if _, err := s.UpdateHost(ctx, h.MAC, 0, func(h *Host) error {
					var n int
					fmt.Sscan(h.Labels["n"], &n)
					h.Labels["n"] = fmt.Sprint(n + 1)
					return nil
				}, Event{Actor: "count"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	final, _ := a.Host(ctx, h.MAC)
	if final.Labels["n"] != fmt.Sprint(2*each) {
		t.Fatalf("after %d increments from each appliance: n = %s (a lost update)", each, final.Labels["n"])
	}
	if got := waitHost(t, b, h.MAC, final.Version); got.Labels["n"] != final.Labels["n"] {
		t.Fatalf("b sees n = %s, a %s", got.Labels["n"], final.Labels["n"])
	}
	ev, _ := b.Events(ctx, h.MAC, 0)
	if len(ev) != 2*each+1 {
		t.Fatalf("%d events, want %d (one per write)", len(ev), 2*each+1)
	}
	for i := 1; i < len(ev); i++ {
		if ev[i].Seq != ev[i-1].Seq-1 {
			t.Fatalf("event sequence has a gap or a duplicate: %d after %d", ev[i].Seq, ev[i-1].Seq)
		}
	}
}

// TestEtcdSealKeyMismatch: an appliance with another sealing key is
// refused and told so; the right key opens.
func TestEtcdSealKeyMismatch(t *testing.T) {
	c := testCluster(t)
	a, _, prefix, key := twoAppliances(t, c)
	a.CreateHost(t.Context(), Host{MAC: mac(1), BMC: &BMC{Address: "10.0.0.9", Protocol: "ipmi", Password: "pw"}}, "a")
	other := make([]byte, 32)
	rand.Read(other)
	_, err := OpenEtcd(t.Context(), EtcdOptions{Endpoints: c.Endpoints(), Prefix: prefix, SealKey: other})
	if !errors.Is(err, ErrSealKey) {
		t.Fatalf("open with another key: %v, want ErrSealKey", err)
	}
	s := openEtcdTest(t, c, prefix, key, Options{})
	if pw, err := s.BMCPassword(t.Context(), mac(1)); err != nil || pw != "pw" {
		t.Fatalf("password through the other appliance: %q, %v", pw, err)
	}
}

// TestEtcdWatchCompacted: an appliance whose etcd member went away while
// the others wrote and compacted resumes from a compacted revision: it
// reloads, sees every write, and drops its subscribers so they re-read.
func TestEtcdWatchCompacted(t *testing.T) {
	c := testCluster(t)
	prefix := "/test/" + rand.Text()[:10] + "/"
	key := make([]byte, 32)
	rand.Read(key)
	m0 := c.Members[0]
	lone, err := OpenEtcd(t.Context(), EtcdOptions{Endpoints: []string{m0.ClientURL}, Prefix: prefix, SealKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Close()
	others, err := OpenEtcd(t.Context(), EtcdOptions{Endpoints: c.Endpoints()[1:], Prefix: prefix, SealKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer others.Close()
	feed := lone.Subscribe(t.Context())
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints()[1:]})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	m0.Kill()
	restarted := false
	defer func() {
		if !restarted {
			m0.Restart()
		}
	}()
	// The two left elect a leader if m0 led: wait for a write to pass.
	for {
		pctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := cli.Put(pctx, prefix+"probe", "1")
		cancel()
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var last Host
	for i := range 5 {
		if last, err = others.CreateHost(t.Context(), Host{MAC: mac(i)}, "other"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Compact(t.Context(), int64(last.Version), clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	if err := m0.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if got := waitHost(t, lone, mac(4), last.Version); got.MAC != mac(4) {
		t.Fatal(got)
	}
	if p, _ := lone.Hosts(t.Context(), Query{}); p.Total != 5 {
		t.Fatalf("after the reload: %d hosts, want 5", p.Total)
	}
	// The reload (and nothing else before Close) closes the feed: the
	// subscriber must re-read, for nobody watched while m0 was away.
	for {
		select {
		case _, ok := <-feed:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the feed stayed open: the compacted watch did not reload")
		}
	}
}

// TestEtcdLeaseBatchSplit: a batch of more lease writes than one etcd
// transaction takes (128 by default) is stored whole.
func TestEtcdLeaseBatchSplit(t *testing.T) {
	s, _, _, _ := twoAppliances(t, testCluster(t))
	var puts []Lease
	for i := range 1000 {
		puts = append(puts, Lease{IP: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), MAC: mac(i), Expires: time.Now().Add(time.Hour)})
	}
	if err := s.WriteLeases(t.Context(), []LeaseChange{{Put: puts}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Leases()
	if err != nil || len(got) != 1000 {
		t.Fatalf("%d leases stored, %v; want 1000", len(got), err)
	}
}
