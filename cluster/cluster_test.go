package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/inventory/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

var cluster *etcdtest.Cluster

func TestMain(m *testing.M) {
	code := func() int {
		if !testingShort() {
			dir, err := os.MkdirTemp("", "rackboot-cluster-")
			if err != nil {
				panic(err)
			}
			defer os.RemoveAll(dir)
			if cluster, err = etcdtest.Start(context.Background(), dir, 3); err != nil {
				println("etcd cluster:", err.Error())
				return 1
			}
			defer cluster.Close()
		}
		return m.Run()
	}()
	os.Exit(code)
}

// testingShort reads -short before m.Run parses flags for the tests.
func testingShort() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

func needCluster(t *testing.T) *etcdtest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("etcd cluster: not under -short")
	}
	return cluster
}

// cuttable is a TCP relay to one etcd member that a test can cut, as a
// network that drops an appliance's traffic: after Cut it holds every
// connection open and forwards nothing.
type cuttable struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCuttable(t *testing.T, target string) *cuttable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cuttable{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); c.closeAll() })
	go c.accept()
	return c
}

func (c *cuttable) URL() string { return "http://" + c.ln.Addr().String() }

func (c *cuttable) accept() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		cut := c.cut
		c.conns = append(c.conns, in)
		c.mu.Unlock()
		if cut {
			continue // held open, silent
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, out)
		c.mu.Unlock()
		go c.pipe(out, in)
		go c.pipe(in, out)
	}
}

// pipe copies until cut, then stops forwarding without closing.
func (c *cuttable) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		c.mu.Lock()
		cut := c.cut
		c.mu.Unlock()
		if cut {
			io.Copy(io.Discard, src)
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *cuttable) Cut() {
	c.mu.Lock()
	c.cut = true
	c.mu.Unlock()
}

func (c *cuttable) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.conns {
		cn.Close()
	}
}

func client(t *testing.T, endpoints ...string) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// span is when one appliance's serve ran.
type span struct {
	who        string
	start, end time.Time
}

type spans struct {
	mu     sync.Mutex
	all    []span
	starts map[string]time.Time // the latest start of each
}

func (s *spans) serve(who string, started chan<- string) func(ctx context.Context, f inventory.Fence) error {
	return func(ctx context.Context, f inventory.Fence) error {
		sp := span{who: who, start: time.Now()}
		s.mu.Lock()
		if s.starts == nil {
			s.starts = map[string]time.Time{}
		}
		s.starts[who] = sp.start
		s.mu.Unlock()
		started <- who
		<-ctx.Done()
		sp.end = time.Now()
		s.mu.Lock()
		s.all = append(s.all, sp)
		s.mu.Unlock()
		return nil
	}
}

// TestLeaderCutOffIsDeposed: two appliances campaign for one network; the
// leader's traffic to etcd is dropped; it stops serving before the other
// starts, its fenced lease write fails, the other's commits, and the
// listing shows the new leader.
func TestLeaderCutOffIsDeposed(t *testing.T) {
	c := needCluster(t)
	prefix := "/test/" + rand.Text()[:10] + "/"
	link := newCuttable(t, c.Members[0].ClientURL[len("http://"):])
	a := &Member{Client: client(t, link.URL()), Prefix: prefix, ID: "a", TTL: 2 * time.Second}
	b := &Member{Client: client(t, c.Endpoints()[1:]...), Prefix: prefix, ID: "b", TTL: 2 * time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan string, 4)
	var sp spans
	var fenceA inventory.Fence
	var mu sync.Mutex
	go a.Lead(ctx, "10.9.0.0/24", func(ctx context.Context, f inventory.Fence) error {
		mu.Lock()
		fenceA = f
		mu.Unlock()
		return sp.serve("a", started)(ctx, f)
	})
	if who := <-started; who != "a" {
		t.Fatalf("%s leads first; a campaigned alone", who)
	}
	go b.Register(ctx, Appliance{URL: "http://b"})
	go a.Register(ctx, Appliance{URL: "http://a"})
	go b.Lead(ctx, "10.9.0.0/24", sp.serve("b", started))
	storeB := openStore(t, c, prefix)
	link.Cut()
	select {
	case who := <-started:
		if who != "b" {
			t.Fatalf("%s leads after a was cut off", who)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("b never took over")
	}
	mu.Lock()
	f := fenceA
	mu.Unlock()
	lease := inventory.Lease{IP: netip.MustParseAddr("10.9.0.10"), MAC: "52:54:00:00:00:01", Expires: time.Now().Add(time.Hour)}
	err := storeB.FencedLeases(f).WriteLeases(t.Context(), []inventory.LeaseChange{{Put: []inventory.Lease{lease}}})
	if !errors.Is(err, inventory.ErrFenced) {
		t.Fatalf("a write fenced on a's deposed leadership: %v, want ErrFenced", err)
	}
	sp.mu.Lock()
	var aEnd time.Time
	for _, s := range sp.all {
		if s.who == "a" {
			aEnd = s.end
		}
	}
	sp.mu.Unlock()
	if aEnd.IsZero() {
		t.Fatal("a still serves after b took over")
	}
	sp.mu.Lock()
	bStart := sp.starts["b"]
	sp.mu.Unlock()
	if !aEnd.Before(bStart) {
		t.Fatalf("a served until %v, b began at %v: two leaders at once", aEnd, bStart)
	}
	list, err := b.Appliances(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var leads []string
	for _, s := range list {
		if s.ID == "b" {
			leads = s.Leads
		}
		if s.ID == "a" && len(s.Leads) > 0 {
			t.Errorf("a listed as leading %v", s.Leads)
		}
	}
	if len(leads) != 1 || leads[0] != "10.9.0.0/24" {
		t.Fatalf("appliances: %+v; want b leading 10.9.0.0/24", list)
	}
}

func openStore(t *testing.T, c *etcdtest.Cluster, prefix string) *inventory.Etcd {
	key := make([]byte, 32)
	s, err := inventory.OpenEtcd(t.Context(), inventory.EtcdOptions{Endpoints: c.Endpoints(), Prefix: prefix, SealKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDuplicateIDRefused: a second live appliance under a registered id
// gives up with ErrDuplicateID; the first stays listed.
func TestDuplicateIDRefused(t *testing.T) {
	c := needCluster(t)
	prefix := "/test/" + rand.Text()[:10] + "/"
	a := &Member{Client: client(t, c.Endpoints()...), Prefix: prefix, ID: "same", TTL: time.Second}
	b := &Member{Client: client(t, c.Endpoints()...), Prefix: prefix, ID: "same", TTL: time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go a.Register(ctx, Appliance{URL: "http://first"})
	for {
		if list, _ := a.Appliances(ctx); len(list) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Register(ctx, Appliance{URL: "http://second"}); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("second registration under one id: %v, want ErrDuplicateID", err)
	}
	list, err := a.Appliances(ctx)
	if err != nil || len(list) != 1 || list[0].URL != "http://first" {
		t.Fatalf("appliances: %+v %v", list, err)
	}
}

// TestShardMovesOnlyTheLeaversHosts: three registered appliances split
// 300 MACs, each MAC to exactly one; when one goes, its MACs spread over
// the other two and no other MAC moves.
func TestShardMovesOnlyTheLeaversHosts(t *testing.T) {
	c := needCluster(t)
	prefix := "/test/" + rand.Text()[:10] + "/"
	cli := client(t, c.Endpoints()...)
	members := map[string]*Member{}
	cancels := map[string]context.CancelFunc{}
	for _, id := range []string{"r1", "r2", "r3"} {
		members[id] = &Member{Client: cli, Prefix: prefix, ID: id, TTL: time.Second}
		ctx, cancel := context.WithCancel(t.Context())
		cancels[id] = cancel
		defer cancel()
		go members[id].Register(ctx, Appliance{})
	}
	waitListed := func(n int) {
		for {
			if list, _ := members["r1"].Appliances(t.Context()); len(list) == n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	owners := func(ids ...string) map[string]string {
		out := map[string]string{}
		for i := range 300 {
			mac := fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)
			for _, id := range ids {
				if members[id].Shard(t.Context())(mac) {
					if prev, ok := out[mac]; ok {
						t.Fatalf("%s looked after by %s and %s", mac, prev, id)
					}
					out[mac] = id
				}
			}
			if out[mac] == "" {
				t.Fatalf("%s looked after by none of %v", mac, ids)
			}
		}
		return out
	}
	waitListed(3)
	before := owners("r1", "r2", "r3")
	cancels["r3"]() // closes its session: the registration goes at once
	waitListed(2)
	after := owners("r1", "r2")
	moved := 0
	for mac, id := range before {
		if id != "r3" && after[mac] != id {
			t.Errorf("%s moved from %s to %s though %s stayed", mac, id, after[mac], id)
		}
		if id == "r3" {
			moved++
		}
	}
	if moved == 0 || moved == 300 {
		t.Fatalf("r3 looked after %d of 300 hosts: not a share", moved)
	}
}

// TestStoppingLeaderHandsOver: a leader whose appliance stops gives up
// its leadership on the way out (resigns, and revokes its session): when
// Lead returns its election key is gone already, not a TTL (30 s here)
// later, and the other appliance leads.
func TestStoppingLeaderHandsOver(t *testing.T) {
	c := needCluster(t)
	prefix := "/test/" + rand.Text()[:10] + "/"
	cli := client(t, c.Endpoints()...)
	a := &Member{Client: cli, Prefix: prefix, ID: "a", TTL: 30 * time.Second}
	b := &Member{Client: client(t, c.Endpoints()...), Prefix: prefix, ID: "b", TTL: 30 * time.Second}
	actx, stopA := context.WithCancel(t.Context())
	started := make(chan string, 2)
	var sp spans
	returned := make(chan struct{})
	go func() { a.Lead(actx, "10.7.0.0/24", sp.serve("a", started)); close(returned) }()
	if who := <-started; who != "a" {
		t.Fatalf("%s leads first", who)
	}
	bctx, stopB := context.WithCancel(t.Context())
	defer stopB()
	go b.Lead(bctx, "10.7.0.0/24", sp.serve("b", started))
	stopA()
	<-returned
	resp, err := cli.Get(t.Context(), a.electionPrefix("10.7.0.0/24"), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) == "a" {
			t.Fatalf("a's election key %s outlived a", kv.Key)
		}
	}
	if who := <-started; who != "b" {
		t.Fatalf("%s leads after a stopped", who)
	}
}
