package provision

import (
	"context"
	"log/slog"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// Images is what deploys need of the image store.
type Images interface {
	Image(name string) (images.Image, error)
}

// Config is what a Lifecycle needs. Store is required; the zero value of
// every other field is the documented default.
type Config struct {
	Store inventory.Store
	// Images holds the images hosts are deployed with; nil refuses deploys.
	Images Images
	// Boot is the boot decision's configuration: its URL (the
	// machine-facing base URL) goes into seeds and deploy instructions,
	// and NoDiscovery keeps unknown MACs out of the inventory.
	Boot     boot.Config
	Timeouts Timeouts
	// Discovery bounds the unknown machines that enlist themselves.
	Discovery DiscoveryLimits
	Logger    *slog.Logger     // silent when nil
	Now       func() time.Time // time.Now when nil
}

// Lifecycle runs the lifecycle's operations on a Store.
type Lifecycle struct {
	cfg       Config
	store     inventory.Store
	log       *slog.Logger
	tokens    tokens
	refusals  refusals
	discovery *discovery
}

// New returns a Lifecycle for cfg.
func New(cfg Config) *Lifecycle {
	l := &Lifecycle{cfg: cfg, store: cfg.Store, log: cfg.Logger}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.tokens = tokens{boot: cfg.Store.DeriveKey("boot-token"), agent: cfg.Store.DeriveKey("agent-token")}
	l.discovery = newDiscovery(cfg.Discovery)
	return l
}

// Store is the store the Lifecycle writes to.
func (l *Lifecycle) Store() inventory.Store { return l.store }

// Boot is the boot decision's configuration.
func (l *Lifecycle) Boot() boot.Config { return l.cfg.Boot }

func (l *Lifecycle) now() time.Time {
	if l.cfg.Now != nil {
		return l.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

// modify is Store.ModifyHost without a version check.
func (l *Lifecycle) modify(ctx context.Context, mac string, fn func(*inventory.Host) (inventory.Edit, error)) (inventory.Host, error) {
	return l.store.ModifyHost(ctx, mac, 0, fn)
}
