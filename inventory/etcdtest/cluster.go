// Package etcdtest starts a real etcd cluster on loopback for tests: the
// members are Debian's etcd-server binary, each with its own random ports
// and data dir. It is for tests only; rackboot never runs etcd itself.
package etcdtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ErrNoEtcd says the etcd binary is not installed (scripts/ci-deps
// installs Debian's etcd-server).
var ErrNoEtcd = errors.New("etcd not found on PATH: install Debian's etcd-server (scripts/ci-deps)")

// Cluster is a running set of etcd members.
type Cluster struct {
	Members []*Member
	dir     string
	opts    Options
}

// Options places a cluster somewhere other than the test's loopback: in a
// network namespace, say, on an address of its own.
type Options struct {
	Dir     string // data dirs and logs; the caller removes it
	Members int    // default 3
	// Host is the address every member listens on, with ports 2379+100i
	// (client) and 2380+100i (peer): for a namespace of its own, where
	// they are free. Default: 127.0.0.1 with ports the kernel hands out.
	Host string
	// Wrap goes before the etcd command (ip netns exec NS).
	Wrap []string
	// Dial connects the cluster's clients (Client, the readiness check)
	// when the members are not reachable from the test's namespace.
	Dial  func(ctx context.Context, addr string) (net.Conn, error)
	Extra []string // more flags for every member
	// TLS, when set, makes the members speak TLS to clients and peers
	// with this certificate (valid for the members' address) and ask
	// clients for a certificate signed by CAFile; ClientTLS is what the
	// cluster's own clients (readiness, Client) present.
	TLS       *TLSFiles
	ClientTLS *tls.Config
}

// TLSFiles are PEM files of a member's certificate and of the CA.
type TLSFiles struct{ CertFile, KeyFile, CAFile string }

func (o *Options) scheme() string {
	if o.TLS != nil {
		return "https://"
	}
	return "http://"
}

func (o *Options) tlsFlags() []string {
	if o.TLS == nil {
		return nil
	}
	f := o.TLS
	return []string{"--cert-file", f.CertFile, "--key-file", f.KeyFile, "--trusted-ca-file", f.CAFile, "--client-cert-auth",
		"--peer-cert-file", f.CertFile, "--peer-key-file", f.KeyFile, "--peer-trusted-ca-file", f.CAFile, "--peer-client-cert-auth"}
}

// Member is one etcd process.
type Member struct {
	Name      string
	ClientURL string
	PeerURL   string
	DataDir   string
	LogFile   string
	args      []string
	wrap      []string
	cmd       *exec.Cmd
	done      chan struct{}
}

// Available reports whether the etcd binary is installed.
func Available() bool {
	_, err := exec.LookPath("etcd")
	return err == nil
}

// Start starts n members under dir (which the caller removes) and waits
// until the cluster answers a write. Extra flags go to every member.
func Start(ctx context.Context, dir string, n int, extra ...string) (*Cluster, error) {
	return StartWith(ctx, Options{Dir: dir, Members: n, Extra: extra})
}

// StartWith starts a cluster as o says and waits until it answers a write.
func StartWith(ctx context.Context, o Options) (*Cluster, error) {
	if !Available() {
		return nil, ErrNoEtcd
	}
	if o.Members == 0 {
		o.Members = 3
	}
	var lastErr error
	for attempt := range 3 { // a random port taken in between: try again
		c, err := start(ctx, filepath.Join(o.Dir, fmt.Sprintf("try%d", attempt)), o)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (o *Options) ports(i int) (client, peer string, err error) {
	if o.Host == "" {
		return freePorts()
	}
	return net.JoinHostPort(o.Host, fmt.Sprint(2379+100*i)), net.JoinHostPort(o.Host, fmt.Sprint(2380+100*i)), nil
}

func start(ctx context.Context, dir string, o Options) (*Cluster, error) {
	c := &Cluster{dir: dir, opts: o}
	var initial []string
	for i := range o.Members {
		client, peer, err := o.ports(i)
		if err != nil {
			return nil, err
		}
		m := &Member{Name: fmt.Sprintf("m%d", i), ClientURL: o.scheme() + client, PeerURL: o.scheme() + peer,
			DataDir: filepath.Join(dir, fmt.Sprintf("m%d", i)), LogFile: filepath.Join(dir, fmt.Sprintf("m%d.log", i))}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	for _, m := range c.Members {
		m.args = append([]string{"--name", m.Name, "--data-dir", m.DataDir,
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", filepath.Base(dir), "--logger", "zap", "--log-outputs", m.LogFile,
		}, append(o.tlsFlags(), o.Extra...)...)
		m.wrap = o.Wrap
		if err := m.start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.waitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (m *Member) start() error {
	if err := os.MkdirAll(filepath.Dir(m.LogFile), 0o700); err != nil {
		return err
	}
	argv := append(append(append([]string(nil), m.wrap...), "etcd"), m.args...)
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start etcd %s: %w", m.Name, err)
	}
	m.done = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.done) }()
	return nil
}

// Kill stops a member at once (SIGKILL), as if its machine died.
func (m *Member) Kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Kill()
		<-m.done
	}
}

// Restart starts a killed member again with its data dir.
func (m *Member) Restart() error {
	m.args = replaceFlag(m.args, "--initial-cluster-state", "existing")
	return m.start()
}

func replaceFlag(args []string, name, value string) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == name {
			out[i+1] = value
		}
	}
	return out
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client returns a client of the whole cluster; the caller closes it.
func (c *Cluster) Client() (*clientv3.Client, error) {
	return clientv3.New(c.ClientConfig())
}

// ClientConfig is a client config for the cluster, dialling through
// Options.Dial when set.
func (c *Cluster) ClientConfig() clientv3.Config {
	cfg := clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: quietLogger(), TLS: c.opts.ClientTLS}
	if c.opts.Dial != nil {
		cfg.DialOptions = []grpc.DialOption{grpc.WithContextDialer(c.opts.Dial)}
	}
	return cfg
}

// Close kills every member.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		m.Kill()
	}
}

// Logs returns the tail of every member's log, for a failing test.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, m := range c.Members {
		data, _ := os.ReadFile(m.LogFile)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", m.Name, data)
	}
	return b.String()
}

func (c *Cluster) waitReady(ctx context.Context) error {
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		for _, m := range c.Members {
			select {
			case <-m.done:
				return fmt.Errorf("etcd %s exited while starting: %s", m.Name, c.Logs())
			default:
			}
		}
		wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Put(wctx, "/etcdtest/ready", "1")
		wcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd cluster not ready: %v: %s", err, c.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts returns two loopback addresses with ports the kernel just
// handed out (and took back), for a member's client and peer URLs.
func freePorts() (string, string, error) {
	var addrs []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs[0], addrs[1], nil
}

func quietLogger() *zap.Logger { return zap.NewNop() }
