package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/pflag"
)

// etcdConfig is where several appliances keep their shared inventory.
// Without endpoints the inventory is the data dir's bbolt file.
type etcdConfig struct {
	Endpoints   []string
	Prefix      string
	Cert, Key   string
	CA          string
	SealKeyFile string
	ApplianceID string
	SessionTTL  time.Duration
}

func addEtcdFlags(f *pflag.FlagSet, c *etcdConfig) {
	host, _ := os.Hostname()
	f.StringSliceVar(&c.Endpoints, "etcd-endpoints", nil, "etcd client URLs (comma-separated): keep the inventory in etcd, shared with other appliances, instead of the data dir's bbolt file")
	f.StringVar(&c.Prefix, "etcd-prefix", "/rackboot/", "key prefix of the inventory in etcd; appliances that act as one share it")
	f.StringVar(&c.Cert, "etcd-cert", "", "client certificate (PEM) for etcd")
	f.StringVar(&c.Key, "etcd-key", "", "client certificate's private key (PEM) for etcd")
	f.StringVar(&c.CA, "etcd-ca", "", "CA bundle (PEM) that signed the etcd members' certificates")
	f.StringVar(&c.SealKeyFile, "seal-key-file", "", "32-byte key that seals BMC passwords and deploy seeds, the same file on every appliance (required with --etcd-endpoints; make one with: head -c 32 /dev/urandom > FILE)")
	f.StringVar(&c.ApplianceID, "appliance-id", host, "this appliance's name among those sharing an etcd inventory")
	f.DurationVar(&c.SessionTTL, "etcd-session-ttl", 5*time.Second, "lifetime of this appliance's etcd session: its registration and DHCP leadership end this long after it stops answering")
}

// openStore opens the inventory: bbolt in the data dir, or etcd.
func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (inventory.Store, error) {
	e := cfg.Etcd
	if len(e.Endpoints) == 0 {
		return inventory.Open(cfg.DataDir, inventory.Options{Logger: log, Init: cfg.Init})
	}
	// The data dir still holds the operator token and the images.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if e.SealKeyFile == "" {
		return nil, errors.New("--etcd-endpoints needs --seal-key-file: every appliance sharing the inventory seals its secrets with the same key")
	}
	key, err := os.ReadFile(e.SealKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--seal-key-file: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("--seal-key-file %s: want 32 bytes, found %d (make one with: head -c 32 /dev/urandom > %s)", e.SealKeyFile, len(key), e.SealKeyFile)
	}
	tc, err := e.tls()
	if err != nil {
		return nil, err
	}
	return inventory.OpenEtcd(ctx, inventory.EtcdOptions{Endpoints: e.Endpoints, Prefix: e.Prefix, TLS: tc, SealKey: key, Logger: log.With("part", "inventory")})
}

// tls is the client's TLS config, nil when no certificate option is set.
func (e *etcdConfig) tls() (*tls.Config, error) {
	if e.Cert == "" && e.Key == "" && e.CA == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if (e.Cert == "") != (e.Key == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together")
	}
	if e.Cert != "" {
		pair, err := tls.LoadX509KeyPair(e.Cert, e.Key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if e.CA != "" {
		pem, err := os.ReadFile(e.CA)
		if err != nil {
			return nil, fmt.Errorf("--etcd-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-ca %s: no PEM certificate in it", e.CA)
		}
	}
	return tc, nil
}

// member is this appliance in the etcd cluster; nil on bbolt.
func (e *etcdConfig) member(store inventory.Store, log *slog.Logger) *cluster.Member {
	es, ok := store.(*inventory.Etcd)
	if !ok {
		return nil
	}
	return &cluster.Member{Client: es.Client(), Prefix: es.Prefix(), ID: e.ApplianceID, TTL: e.SessionTTL, Logger: log.With("part", "cluster")}
}

// registration is what this appliance tells the others about itself.
func (cfg *serveConfig) registration(bootURL, api string) cluster.Appliance {
	a := cluster.Appliance{URL: bootURL, API: api, Version: version, Started: time.Now().UTC()}
	d := cfg.DHCP
	if d.Interface != "" && d.Mode != "off" {
		n := cluster.Network{Mode: d.Mode, Interface: d.Interface}
		if p, err := interfacePrefix(d.Interface); err == nil {
			n.Prefix = p.Masked().String()
		}
		a.Networks = append(a.Networks, n)
		for _, r := range d.Relays {
			a.Networks = append(a.Networks, cluster.Network{Prefix: r.Prefix.String(), Mode: d.Mode})
		}
	}
	return a
}

// peerBlobPurpose names the key, derived from the shared sealing key, of
// the tokens appliances show each other to fetch image blobs.
const peerBlobPurpose = "peer image blobs"

// sharedImages is the image store as the API sees it on etcd: an import
// or a removal here is published to the other appliances.
type sharedImages struct {
	*images.Store
	sync *cluster.ImageSync
}

func (s sharedImages) Import(ctx context.Context, r io.Reader, opts images.ImportOptions) (images.Image, error) {
	img, err := s.Store.Import(ctx, r, opts)
	if err != nil {
		return img, err
	}
	return img, s.sync.Publish(ctx, img)
}

func (s sharedImages) Remove(ctx context.Context, name string) error {
	if err := s.Store.Remove(ctx, name); err != nil {
		return err
	}
	return s.sync.Unpublish(ctx, name)
}
