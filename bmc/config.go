package bmc

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Config tunes a Controller. The zero value is the production default.
type Config struct {
	// MaxSessions caps BMC sessions open at once across all BMCs
	// (default 8, as Ironic's workers; MAAS uses 5 per rack).
	MaxSessions int
	// MinGap is the least time between two commands to one BMC (default
	// 2s). Cheap BMCs fall over when polled back to back.
	MinGap time.Duration
	// Timeout bounds every operation, retries and confirmation included
	// (default 2m).
	Timeout time.Duration
	// Backoff lists the waits before each retry of a transient failure;
	// the last one repeats (default 1, 2, 2, 4, 6, 8, 12 s, as MAAS).
	Backoff []time.Duration
	// MaxAttempts caps tries of one step (default 5). Zero means default.
	MaxAttempts int
	// ConfirmInterval is how often the state is polled after a power
	// action until it shows (default 1s; MinGap also applies).
	ConfirmInterval time.Duration
	// IPMITool is the ipmitool binary; empty means look it up in PATH.
	IPMITool string
	// TLS is used for Redfish; nil accepts any certificate, because BMCs
	// ship self-signed ones.
	TLS *tls.Config
	// Logger is silent when nil.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxSessions <= 0 {
		c.MaxSessions = 8
	}
	if c.MinGap <= 0 {
		c.MinGap = 2 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{1 * time.Second, 2 * time.Second, 2 * time.Second,
			4 * time.Second, 6 * time.Second, 8 * time.Second, 12 * time.Second}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.ConfirmInterval <= 0 {
		c.ConfirmInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// backoff is the wait before retry number n (0-based), capped at the last.
func (c Config) backoff(n int) time.Duration {
	if n >= len(c.Backoff) {
		n = len(c.Backoff) - 1
	}
	return c.Backoff[n]
}
