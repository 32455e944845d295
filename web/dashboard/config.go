package dashboard

import (
	"context"
	"log/slog"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Actions runs a host action (release, retry, deploy, power-on, power-off,
// power-cycle) the way the REST API does. body is the action's JSON body
// (deploy: {"image": name}); nil means none. The error's text is shown to
// the operator next to the button.
type Actions interface {
	Do(ctx context.Context, mac, action string, body map[string]any) (inventory.Host, error)
}

// Images lists and removes the images hosts can be deployed with.
type Images interface {
	List(ctx context.Context) ([]string, error)
	Remove(ctx context.Context, name string) error
}

// Health reports the appliance's services for the strip at the top of
// every page: DHCP mode, leases in use, transfer rates, rogue DHCP servers.
type Health interface {
	Health() []HealthItem
}

// HealthItem is one figure of the health strip. Warn marks something the
// operator should act on (a rogue DHCP server, a service down).
type HealthItem struct {
	Name  string
	Value string
	Warn  bool
}

// Config is what the dashboard needs. Store and Token are required; the
// rest default as documented.
type Config struct {
	Store inventory.Store
	// Token is the operator token the login form asks for; sessions are
	// signed with a key derived from it, so a new token ends them all.
	Token string
	// TokenPath is where the operator token is kept, for the sign-in
	// page to say; it says "the data directory" when empty.
	TokenPath string
	// Logger receives failed requests; silent when nil.
	Logger *slog.Logger
	// Actions runs host actions; when nil every action button answers
	// "actions are not available".
	Actions Actions
	// Images feeds the deploy picker and the images page; nil hides both.
	Images Images
	// Health feeds the health strip; nil shows only the inventory counts.
	Health Health
	// SessionTTL is how long a login lasts; default 12 hours.
	SessionTTL time.Duration
	// PageSize is the number of hosts per list page; default 50.
	PageSize int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.PageSize == 0 {
		c.PageSize = 50
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}
