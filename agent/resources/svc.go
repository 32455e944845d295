package resources

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// svcTick re-checks enablement, which systemd does not signal reliably.
const svcTick = 30 * time.Second

// Service states and refresh actions.
const (
	SvcRunning = "running"
	SvcStopped = "stopped"

	RefreshRestart    = "restart"
	RefreshReload     = "reload"
	RefreshTryRestart = "try-restart"
	RefreshNone       = "none"
)

// Systemd is the part of systemd's D-Bus API the svc resource uses. The
// real one is DialSystemd; tests pass a fake.
type Systemd interface {
	ActiveState(ctx context.Context, unit string) (string, error)   // active, inactive, failed, activating, ...
	UnitFileState(ctx context.Context, unit string) (string, error) // enabled, disabled, static, ...
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Restart(ctx context.Context, unit string) error
	TryRestart(ctx context.Context, unit string) error
	Reload(ctx context.Context, unit string) error
	SetEnabled(ctx context.Context, unit string, enabled bool) error
	// Subscribe sends on changed whenever the unit's properties change,
	// until ctx is done.
	Subscribe(ctx context.Context, unit string, changed chan<- struct{}) error
	Close()
}

// Svc keeps a systemd unit running or stopped, enabled or not, and restarts
// (or reloads) it on refresh.
type Svc struct {
	Named     `yaml:"-"`
	Unit      string `yaml:"unit"`       // defaults to the name; ".service" is added when there is no suffix
	State     string `yaml:"state"`      // running, stopped, or empty: not managed
	Enabled   *bool  `yaml:"enabled"`    // nil: not managed
	OnRefresh string `yaml:"on_refresh"` // restart (default), reload, try-restart, none

	Dial func(ctx context.Context) (Systemd, error) `yaml:"-"` // nil: DialSystemd
}

func (s *Svc) Kind() string { return "svc" }

func (s *Svc) unit() string {
	u := cmp.Or(s.Unit, s.ResName)
	if !strings.Contains(u, ".") {
		u += ".service"
	}
	return u
}

func (s *Svc) onRefresh() string { return cmp.Or(s.OnRefresh, RefreshRestart) }

// Validate checks every parameter, naming the one at fault.
func (s *Svc) Validate() error {
	if u := s.unit(); strings.ContainsAny(u, "/ \t\n") || strings.HasPrefix(u, ".") {
		return fieldErr("unit", "%q is not a unit name", u)
	}
	if s.State != "" {
		if err := oneOf("state", s.State, SvcRunning, SvcStopped); err != nil {
			return err
		}
	}
	return oneOf("on_refresh", s.onRefresh(), RefreshRestart, RefreshReload, RefreshTryRestart, RefreshNone)
}

// Cmp reports whether other manages the same unit the same way.
func (s *Svc) Cmp(other engine.Resource) bool {
	o, ok := other.(*Svc)
	return ok && s.ResName == o.ResName && s.unit() == o.unit() && s.State == o.State &&
		equalPtr(s.Enabled, o.Enabled) && s.onRefresh() == o.onRefresh()
}

func (s *Svc) dial(ctx context.Context) (Systemd, error) {
	if s.Dial != nil {
		return s.Dial(ctx)
	}
	return DialSystemd(ctx)
}
