package inventory

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rackboot/rackboot/inventory/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The conformance tests run against every Store implementation: bbolt,
// and etcd on a real 3-member cluster of Debian's etcd-server on loopback
// (not under -short).

// testStore is a Store with the helpers the tests use.
type testStore interface {
	Store
	UpdateHost(ctx context.Context, mac string, version uint64, fn func(*Host) error, ev Event) (Host, error)
	Transition(ctx context.Context, mac string, to State, cause, actor string) (Host, error)
}

// fixture is one inventory of one implementation. Open opens it (again,
// after the test closed the first one: the same inventory); Raw returns
// every byte it holds at rest, for tests that look for plaintext secrets.
type fixture struct {
	Open func(t *testing.T, opts Options) testStore
	Raw  func(t *testing.T) []byte
}

func eachStore(t *testing.T, test func(t *testing.T, f fixture)) {
	t.Run("bbolt", func(t *testing.T) {
		dir := t.TempDir()
		test(t, fixture{
			Open: func(t *testing.T, opts Options) testStore { return openTest(t, dir, opts) },
			Raw: func(t *testing.T) []byte {
				raw, err := os.ReadFile(filepath.Join(dir, DatabaseFile))
				if err != nil {
					t.Fatal(err)
				}
				return raw
			},
		})
	})
	t.Run("etcd", func(t *testing.T) {
		c := testCluster(t)
		prefix := fmt.Sprintf("/test/%s/%s/", strings.ReplaceAll(t.Name(), "/", "."), rand.Text()[:8])
		key := make([]byte, 32)
		rand.Read(key)
		test(t, fixture{
			Open: func(t *testing.T, opts Options) testStore { return openEtcdTest(t, c, prefix, key, opts) },
			Raw:  func(t *testing.T) []byte { return etcdRaw(t, c, prefix) },
		})
	})
}

func openEtcdTest(t *testing.T, c *etcdtest.Cluster, prefix string, key []byte, opts Options) *Etcd {
	t.Helper()
	s, err := OpenEtcd(t.Context(), EtcdOptions{Endpoints: c.Endpoints(), Prefix: prefix, SealKey: key,
		EventRetention: opts.EventRetention, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		t.Fatalf("OpenEtcd: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// etcdRaw is every key and value under prefix.
func etcdRaw(t *testing.T, c *etcdtest.Cluster, prefix string) []byte {
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(t.Context(), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, kv := range resp.Kvs {
		raw = append(append(raw, kv.Key...), kv.Value...)
	}
	return raw
}

var cluster struct {
	once sync.Once
	c    *etcdtest.Cluster
	dir  string
	err  error
}

// testCluster is the package's one etcd cluster, started on first use;
// TestMain stops it. Under -short the test is skipped: the full suite
// needs etcd (scripts/ci-deps installs it) and fails without it.
func testCluster(t *testing.T) *etcdtest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("etcd cluster: not under -short")
	}
	cluster.once.Do(func() {
		cluster.dir, cluster.err = os.MkdirTemp("", "rackboot-etcd-")
		if cluster.err == nil {
			cluster.c, cluster.err = etcdtest.Start(context.Background(), cluster.dir, 3)
		}
	})
	if cluster.err != nil {
		t.Fatalf("etcd cluster: %v", cluster.err)
	}
	return cluster.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.c != nil {
		cluster.c.Close()
	}
	if cluster.dir != "" {
		os.RemoveAll(cluster.dir)
	}
	os.Exit(code)
}
