package bmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/go-logr/logr"
)

// Controller runs power and boot operations against BMCs. It is safe for
// concurrent use; its limits apply across all callers.
type Controller struct {
	cfg  Config
	log  *slog.Logger
	logr logr.Logger // for bmclib
	gate *gate
}

// New returns a Controller; the zero Config is the production default.
func New(cfg Config) *Controller {
	cfg = cfg.withDefaults()
	return &Controller{cfg: cfg, log: cfg.Logger, logr: logr.FromSlogHandler(cfg.Logger.Handler()),
		gate: newGate(cfg.MaxSessions)}
}

// step is one retryable unit of an operation, run in its own BMC session.
// Steps are written to be idempotent: a retry starts by looking.
type step func(ctx context.Context, c *conn) error

// run admits the operation through the gate and runs its steps in order.
func (c *Controller) run(ctx context.Context, t Target, op string, steps ...step) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	slot, leave, err := c.gate.enter(ctx, t.String())
	if err != nil {
		return &Error{BMC: t.String(), Op: op, Err: classify(ctx, fmt.Errorf("waiting for a session: %w", err))}
	}
	defer leave()
	for _, st := range steps {
		if err := c.retry(ctx, t, slot, st); err != nil {
			return &Error{BMC: t.String(), Op: op, Err: err}
		}
	}
	return nil
}

func (c *Controller) retry(ctx context.Context, t Target, slot *bmcSlot, st step) error {
	for n := 0; ; n++ {
		err := c.attempt(ctx, t, slot, st)
		if err == nil || !transient(err) {
			return err
		}
		if n+1 >= c.cfg.MaxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", n+1, err)
		}
		wait := c.cfg.backoff(n)
		c.log.Warn("bmc: transient error, will retry", "bmc", t.String(), "attempt", n+1, "wait", wait, "err", err)
		if sleep(ctx, wait) != nil {
			return fmt.Errorf("%w after %d attempts: %w", ErrTimeout, n+1, err)
		}
	}
}

// attempt opens a session, runs the step and always closes the session.
func (c *Controller) attempt(ctx context.Context, t Target, slot *bmcSlot, st step) error {
	s, err := c.open(ctx, t, slot)
	if err != nil {
		return classify(ctx, fmt.Errorf("login: %w", err))
	}
	defer func() {
		if err := s.Close(ctx); err != nil {
			c.log.Debug("bmc: logout failed", "bmc", t.String(), "err", err)
		}
	}()
	return classify(ctx, st(ctx, &conn{s: s, slot: slot, cfg: &c.cfg}))
}

func (c *Controller) open(ctx context.Context, t Target, slot *bmcSlot) (session, error) {
	switch t.Protocol {
	case Redfish:
		s := newRedfishSession(ctx, t, c.cfg.TLS, c.logr)
		return s, s.Open(ctx)
	case IPMI:
		return c.openIPMI(ctx, t, slot)
	}
	return nil, fmt.Errorf("unknown protocol %q (want %q or %q)", t.Protocol, Redfish, IPMI)
}

// openIPMI tries the BMC's known cipher suite, else 17 then 3, and
// remembers the one that worked.
func (c *Controller) openIPMI(ctx context.Context, t Target, slot *bmcSlot) (session, error) {
	// ipmitool takes 20 s or more to give up on a dead BMC; a ping
	// answers in one round trip.
	if err := rmcpPing(ctx, t.String()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	cipher := slot.cipher
	if cipher == "" {
		cipher = cipherPreferred
	}
	s, err := newIPMISession(t, cipher, c.cfg.IPMITool, c.logr)
	if err != nil {
		return nil, err
	}
	err = s.Open(ctx)
	if errors.Is(err, errCipher) && cipher == cipherPreferred {
		c.log.Warn("bmc: no IPMI cipher suite 17, falling back to 3 (SHA1)", "bmc", t.String())
		cipher = cipherFallback
		if s, err = newIPMISession(t, cipher, c.cfg.IPMITool, c.logr); err == nil {
			err = s.Open(ctx)
		}
	}
	if err != nil {
		return nil, err
	}
	slot.cipher = cipher
	return s, nil
}

// Each runs op on every target concurrently and returns the errors in the
// order of targets. The Controller's limits still apply, so this is the
// way to act on a rack: Each(ctx, targets, ctl.Cycle).
func (c *Controller) Each(ctx context.Context, targets []Target, op func(context.Context, Target) error) []error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = op(ctx, t)
		}()
	}
	wg.Wait()
	return errs
}
