package main

import (
	"log/slog"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/pflag"
)

// bmcConfig is serve's power-control part.
type bmcConfig struct {
	MaxSessions  int
	MinGap       time.Duration
	Timeout      time.Duration
	PollInterval time.Duration
}

func addBMCFlags(f *pflag.FlagSet, c *bmcConfig) {
	f.IntVar(&c.MaxSessions, "bmc-max-sessions", 8, "BMC sessions open at once, across all BMCs")
	f.DurationVar(&c.MinGap, "bmc-min-gap", 2*time.Second, "least time between two commands to one BMC")
	f.DurationVar(&c.Timeout, "bmc-timeout", 2*time.Minute, "bound on one power operation, retries and confirmation included")
	f.DurationVar(&c.PollInterval, "bmc-poll-interval", 30*time.Second, "how often every BMC is asked for its power state")
}

// newFleet builds the power control that the API's actions and the poller
// share, so the session cap and pacing hold across both.
func newFleet(c bmcConfig, store inventory.Store, log *slog.Logger) *bmc.Fleet {
	ctl := bmc.New(bmc.Config{MaxSessions: c.MaxSessions, MinGap: c.MinGap, Timeout: c.Timeout, Logger: log.With("part", "bmc")})
	return &bmc.Fleet{Store: store, Controller: ctl, PollInterval: c.PollInterval, Logger: log.With("part", "bmc")}
}
